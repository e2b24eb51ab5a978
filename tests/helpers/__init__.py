"""Test helpers: the fixture factory, ground-truth parsers for independent tools, schema validation."""
