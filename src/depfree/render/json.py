"""JSON output: the documented schema (``data/report.schema.json``), stable key order, UTF-8."""

from __future__ import annotations

import json
from typing import Any


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False)
