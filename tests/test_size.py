"""``depfree size``: sections, Go packages and modules sum to no more than the file; top packages are the source's."""

from __future__ import annotations

import json
import subprocess

from click.testing import CliRunner

from depfree.api import size_path
from depfree.cli.main import cli
from helpers.gofixtures import go_list_deps, without_buildinfo, without_section_headers
from helpers.schema import assert_valid_report


def _size_json(*args: str) -> dict:
    res = CliRunner().invoke(cli, ["size", "--json", *args])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert_valid_report(data, "size.schema.json")
    return data


def _readelf_sections(path) -> dict[str, int]:
    """Section name -> file bytes (NOBITS take none), from binutils readelf."""
    out = subprocess.run(["readelf", "-SW", str(path)], capture_output=True, text=True, check=True).stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.replace("[ ", "[").split()
        if len(parts) > 6 and parts[0].startswith("[") and parts[0] != "[Nr]" and parts[1]:
            sizes[parts[1]] = 0 if parts[2] == "NOBITS" else int(parts[5], 16)
    return sizes


def test_size_sums_and_sections(factory):
    binary = factory.go("nettool")
    data = _size_json(str(binary))
    assert data["schema"] == "depfree.size/1"
    b = data["binaries"][0]
    assert b["size"] == binary.stat().st_size
    assert sum(s["size"] for s in b["sections"]) == b["size"]
    assert sum(m["size"] for m in b["modules"]) == b["size"]
    truth = _readelf_sections(binary)
    ours = {s["name"]: s["size"] for s in b["sections"]}
    for name in (".text", ".gopclntab", ".rodata", ".symtab"):
        assert ours[name] == truth[name]
    # function code fits in .text
    assert sum(p["size"] for p in b["packages"]) <= truth[".text"]
    mods = {m["name"]: m["size"] for m in b["modules"]}
    assert mods["pclntab"] == truth[".gopclntab"]
    assert mods["symtab"] == truth[".symtab"] + truth[".strtab"]
    assert mods["DWARF"] == sum(v for k, v in truth.items() if k.startswith((".debug_", ".zdebug_")))
    assert mods["example.com/nettool"] > 0 and mods["std"] > 0


def test_top_packages_are_from_the_source(factory):
    binary = factory.go("withdeps")
    deps = go_list_deps(factory, "withdeps")
    b = _size_json(str(binary))["binaries"][0]
    names = [p["name"] for p in b["packages"]]
    assert names[0] == "runtime"
    for p in b["packages"][:15]:
        assert p["name"] in deps or p["name"] in ("main", "C"), p
    kinds = {p["name"]: p["kind"] for p in b["packages"]}
    assert kinds["main"] == "main" and kinds["runtime"] == "std"


def test_size_stripped_without_headers(factory):
    """Section headers gone: packages from the pclntab function extents; sums still hold."""
    original = factory.go("nettool", ldflags="-s -w")
    binary = without_section_headers(factory, without_buildinfo(factory, original))
    [r] = size_path(binary)
    assert sum(s.size for s in r.sections) == r.size
    assert sum(m.size for m in r.modules) == r.size
    # the pclntab's extent comes from runtime.firstmoduledata; readelf on the original knows the section
    mods = {m.name: m.size for m in r.modules}
    assert abs(mods["pclntab"] - _readelf_sections(original)[".gopclntab"]) <= 64
    assert r.packages and r.packages[0].name == "runtime"
    assert {"net", "crypto/tls"} <= {p.name for p in r.packages}


def test_size_cgo_has_c(factory):
    b = _size_json(str(factory.go("nettool", cgo=True)))["binaries"][0]
    mods = {m["name"]: m["size"] for m in b["modules"]}
    assert mods.get("C", 0) > 0


def test_size_non_go(factory):
    binary = factory.c("hello.c")
    b = _size_json(str(binary))["binaries"][0]
    assert b["packages"] == []
    assert sum(s["size"] for s in b["sections"]) == b["size"] == binary.stat().st_size


def test_size_diff(factory):
    old, new = factory.go("plain"), factory.go("nettool")
    data = _size_json("--diff", str(old), str(new))
    d = data["diffs"][0]
    assert d["size"]["delta"] == new.stat().st_size - old.stat().st_size
    pk = {r["name"]: r for r in d["packages"]}
    assert pk["net"]["old"] == 0 and pk["net"]["delta"] > 0
    assert pk["crypto/tls"]["delta"] > 0
    text = CliRunner().invoke(cli, ["size", "--diff", str(old), str(new)])
    assert text.exit_code == 0 and "crypto/tls" in text.output


def test_size_text(factory):
    res = CliRunner().invoke(cli, ["size", str(factory.go("plain"))])
    assert res.exit_code == 0
    assert "by section" in res.output and "by Go package" in res.output and "runtime" in res.output


def test_size_errors(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["size", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "no such file" in res.output and "Traceback" not in res.output
    res = runner.invoke(cli, ["size"])
    assert res.exit_code == 2 and "expected FILE" in res.output
    junk = tmp_path / "junk"
    junk.write_bytes(b"hello world, not a binary")
    res = runner.invoke(cli, ["size", str(junk)])
    assert res.exit_code == 2 and "not an executable" in res.output
    res = runner.invoke(cli, ["size", str(junk), "--diff", str(junk), str(junk)])
    assert res.exit_code == 2 and "not both" in res.output
