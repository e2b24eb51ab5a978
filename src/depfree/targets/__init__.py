"""Target profiles (data/targets.toml and user files) and the verdict of a binary on each."""
