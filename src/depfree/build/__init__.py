"""``depfree build``: build a Go main package in a matrix of variants (data/variants.toml), analyse each binary,
prove it in the sandbox roots, time it, recommend one, and check that builds are reproducible; ``depfree diff``."""
