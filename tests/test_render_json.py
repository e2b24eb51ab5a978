"""render/json.py writes with orjson; the json module is the reference it must match byte for byte, on real reports
and on every kind of value orjson refuses or writes its own way."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from depfree.api import inspect
from depfree.model import shallow_json, to_json
from depfree.render import json as render_json
from depfree.scan import scan
from helpers.factory import Factory


def reference(data: Any, *, compact: bool) -> str:
    if compact:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(data, indent=2, ensure_ascii=False)
    return render_json.escape_surrogates(text)


EDGE_CASES = [
    {"empty": [], "nothing": {}, "nested": [[], {}, [{}]], "none": None, "yes": True, "no": False},
    {"floats": [0.0, 7.123, 5.96, 0.001, 12.5, 1234.567, 8.0], "ints": [0, -1, 2**63 - 1, -(2**63), 2**64 - 1]},
    {"text": "tab\there \"quoted\" back\\slash \x00\x01\x1f\x7f é ≥ ✗ 漢字 \U0001f600 \u2028\u2029"},
    {"name": os.fsdecode(b"app\xff\xfe")},  # a lone surrogate: orjson refuses it, the reference escapes it
    {"big": 2**64, "negative": -(2**63) - 1},  # beyond 64 bits
    {1: "int key", "s": {2: [3]}},  # keys that are not str
    ("a", ("tuple", 1)),
]


@pytest.mark.parametrize("data", EDGE_CASES, ids=range(len(EDGE_CASES)))
@pytest.mark.parametrize("compact", [True, False])
def test_plain_data_as_the_json_module_writes_it(data: Any, compact: bool) -> None:
    assert render_json.dumps(data, compact=compact) == reference(data, compact=compact)


def test_an_object_outside_the_model_is_the_json_modules_type_error() -> None:
    with pytest.raises(TypeError, match="not part of the report model"):
        render_json.dumps_model({"x": object()})
    with pytest.raises(TypeError, match="not JSON serializable"):
        render_json.dumps({"x": object()})


def test_reports_as_the_json_module_writes_them(factory: Factory, tmp_path: Path) -> None:
    """A scan (C and Go binaries, a file name that is not UTF-8, an error) and an inspect of a Go binary: orjson's
    bytes are the json module's, compact through the model objects and indented from the plain data."""
    d = tmp_path / "tree"
    d.mkdir()
    shutil.copy2(factory.c("hello.c"), d / "hello")
    shutil.copy2(factory.go("plain"), os.fsdecode(bytes(d / "app") + b"\xff"))
    report = scan([d, tmp_path / "missing"], jobs=1)
    data = to_json(report)
    assert len(data["binaries"]) == 2 and data["errors"]
    expected = reference(data, compact=True)
    assert render_json.dumps_model(report) == expected
    pieces = io.StringIO()
    render_json.write_model(report, pieces.write)
    assert pieces.getvalue() == expected
    assert render_json.dumps(data) == reference(data, compact=False)
    one = inspect(factory.go("plain"))
    assert render_json.dumps(one.to_json()) == reference(one.to_json(), compact=False)
    assert render_json.dumps_model(one) == json.dumps(one, ensure_ascii=False, separators=(",", ":"),
                                                      default=shallow_json)
