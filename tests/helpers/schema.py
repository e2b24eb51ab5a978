"""Validate depfree JSON output against the published schema file."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema


@cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads(resources.files("depfree").joinpath("data", name).read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def assert_valid_report(data: dict[str, Any], schema: str = "report.schema.json") -> None:
    errors = sorted(_validator(schema).iter_errors(data), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
