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
from depfree.model import Evidence, shallow_json, to_json
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


def test_a_report_streamed_container_by_container_is_the_same_document(factory: Factory, tmp_path: Path) -> None:
    """`scan --json` writes each container's binaries as they come in (render.json.StreamedReport), as text or as
    UTF-8 bytes through the file's buffer, through a pipe or into -o FILE: byte for byte write_model of the whole
    report, and the json module's document too."""
    import subprocess
    import sys

    from depfree.scan import iter_scan

    trees = []
    for k, program in enumerate(("hello.c", "hello.c")):
        d = tmp_path / f"tree{k}"
        d.mkdir()
        shutil.copy2(factory.c(program, flags=("-static",) if k else ()), d / "hello")
        trees.append(d)
    shutil.copy2(factory.go("plain"), os.fsdecode(bytes(trees[1] / "app") + b"\xff"))
    inputs = [*trees, tmp_path / "missing"]
    report = scan(inputs, jobs=1)
    whole = io.StringIO()
    render_json.write_model(report, whole.write)
    assert whole.getvalue() == reference(to_json(report), compact=True)
    for as_bytes in (False, True):
        text, raw = io.StringIO(), io.BytesIO()
        streamed = render_json.StreamedReport(text.write, write_utf8=raw.write if as_bytes else None)
        rest = type(report)(tool=report.tool, containers=[])
        for res in iter_scan(inputs, jobs=1):
            streamed.add(res.binaries)
            if res.container:
                rest.containers.append(res.container)  # type: ignore[union-attr]
            rest.errors.extend(res.errors)
        assert streamed.count == len(report.binaries) == 3
        if as_bytes:  # (the head and the tail as text, the binaries as bytes: joined here in the order written)
            head = text.getvalue()
            assert head == '{"binaries":['
            streamed.finish(rest)
            got = head + raw.getvalue().decode() + text.getvalue()[len(head):]
        else:
            streamed.finish(rest)
            got = text.getvalue()
        assert got == whole.getvalue(), as_bytes
    cmd = [sys.executable, "-m", "depfree", "scan", "--json", *map(str, inputs)]
    piped = subprocess.run(cmd, capture_output=True, check=False)
    assert piped.returncode == 2 and piped.stdout == whole.getvalue().encode() + b"\n"
    out = tmp_path / "report.json"
    subprocess.run([*cmd, "-o", str(out)], capture_output=True, check=False)
    assert out.read_bytes() == piped.stdout


def test_an_evidence_without_a_detail_holds_none() -> None:
    """orjson writes an Evidence from its attributes, and the schema has no ``detail`` key where there is none: an
    empty detail is not stored, and reads as the class's "" for everything else (equality, hash, repr, pickling,
    copies, ``replace``)."""
    import copy
    import dataclasses
    import pickle

    import orjson

    bare, told = Evidence("import", "puts"), Evidence("import", "puts", "unchecked")
    assert vars(bare) == {"kind": "import", "name": "puts"} and bare.detail == ""
    assert vars(told) == {"kind": "import", "name": "puts", "detail": "unchecked"}
    assert bare == Evidence("import", "puts", "") and hash(bare) == hash(Evidence("import", "puts", ""))
    assert bare != told and str(bare) == "import puts" and str(told) == "import puts (unchecked)"
    assert repr(bare) == "Evidence(kind='import', name='puts', detail='')"
    for same in (pickle.loads(pickle.dumps(bare)), copy.deepcopy(bare), copy.copy(bare)):
        assert same == bare and vars(same) == vars(bare)
    assert dataclasses.replace(bare, detail="x") == Evidence("import", "puts", "x")
    assert vars(dataclasses.replace(told, detail="")) == vars(bare)
    with pytest.raises(dataclasses.FrozenInstanceError):
        bare.detail = "x"  # type: ignore[misc]
    assert orjson.dumps([bare, told]) == b'[{"kind":"import","name":"puts"},' \
        b'{"kind":"import","name":"puts","detail":"unchecked"}]'
    assert render_json.dumps_model([bare, told]) == json.dumps([to_json(bare), to_json(told)], separators=(",", ":"))


def _model_classes() -> list[type]:
    import dataclasses
    import importlib

    found = []
    for name in ("model", "model_hardening", "model_verdicts", "model_records", "details"):
        module = importlib.import_module(f"depfree.{name}")
        found += [c for c in vars(module).values()
                  if isinstance(c, type) and c.__module__ == module.__name__ and dataclasses.is_dataclass(c)]
    return found


def test_every_model_class_is_written_by_orjson_or_through_shallow_json() -> None:
    """A class whose JSON leaves keys out (``json_omit``) is no dataclass to orjson; every other one is, with no
    field orjson would skip (it leaves out attributes whose names start with an underscore)."""
    import dataclasses

    classes = _model_classes()
    omitting = {c.__name__ for c in classes if hasattr(c, "json_omit")}
    assert {"Report", "Packer", "Resolution", "HostItem", "ResolvedLibrary", "ContainerRecord"} <= omitting
    for cls in classes:
        assert ("__dataclass_fields__" in vars(cls)) is (cls.__name__ not in omitting), cls
        assert not [f.name for f in dataclasses.fields(cls) if f.name.startswith("_")], cls


def _written_by_orjson(obj: Any, seen: set[int] | None = None) -> int:
    """Walk the model objects under ``obj``: each that orjson writes itself holds its fields in order and nothing
    else (an Evidence's empty detail excepted). Returns how many were checked."""
    import dataclasses

    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    checked = 0
    if isinstance(obj, (list, tuple)):
        values: list[Any] = list(obj)
    elif isinstance(obj, dict):
        values = list(obj.values())
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        names = [f.name for f in dataclasses.fields(obj)]
        if "__dataclass_fields__" in vars(type(obj)):
            if isinstance(obj, Evidence) and not obj.detail:
                names.remove("detail")
            assert list(vars(obj)) == names, obj
            checked = 1
        values = [getattr(obj, n) for n in names]
    else:
        return 0
    return checked + sum(_written_by_orjson(v, seen) for v in values)


def test_real_reports_of_every_format_are_the_json_modules_bytes(factory: Factory, tmp_path: Path) -> None:
    """Reports of ELF (dynamic, static, Go with cgo), PE, Mach-O and a package: every object orjson writes itself
    holds exactly its fields, so the bytes are the json module's, which calls ``shallow_json`` for every one."""
    d = tmp_path / "tree"
    d.mkdir()
    made = {"hello": factory.c("hello.c"), "static": factory.c("hello.c", flags=("-static",)),
            "cgo": factory.go("nettool", cgo=True), "hello.exe": factory.c("hello.c", cc="x86_64-w64-mingw32-gcc"),
            "macho": factory.go("nettool", goos="darwin", goarch="arm64")}
    for name, path in made.items():
        shutil.copy2(path, d / name)
    report = scan([d], jobs=1)
    one = inspect(str(d / "hello.exe"))
    assert {b.format for b in report.binaries} == {"elf", "pe", "macho"}
    assert _written_by_orjson(report) > 100 and _written_by_orjson(one) > 10
    for r in (report, one):
        assert render_json.dumps_model(r) == json.dumps(r, ensure_ascii=False, separators=(",", ":"),
                                                        default=shallow_json)
        assert render_json.dumps_model(r) == reference(to_json(r), compact=True)
