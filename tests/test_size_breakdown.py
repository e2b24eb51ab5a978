"""``depfree size``: nothing above 3 % of a real binary stays unexplained; the categories are made of the sections
readelf/objdump list, and Go's pclntab and type data match the linker's own symbols (``go tool nm``)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from depfree.cli.main import cli
from helpers.gofixtures import without_section_headers
from helpers.schema import assert_valid_report

MAX_OTHER = 0.03
BUILDS = {
    "go": lambda f: f.go("nettool"),
    "go-stripped": lambda f: f.go("nettool", ldflags="-s -w"),
    "go-1.19": lambda f: f.go("nettool", go="debian-1.19"),
    "go-cgo": lambda f: f.go("nettool", cgo=True),
    "go-exe": lambda f: f.go("nettool", goos="windows"),
    "go-darwin": lambda f: f.go("nettool", goos="darwin", goarch="arm64"),
    "mingw": lambda f: f.c("hello.c", cc="x86_64-w64-mingw32-gcc"),
    "c": lambda f: f.c("hello.c"),
    "c-static": lambda f: f.c("hello.c", flags=("-static", "-O2")),
}


def _size(path: Path) -> dict:
    import json

    res = CliRunner().invoke(cli, ["size", "--json", str(path)])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert_valid_report(data, "size.schema.json")
    return data["binaries"][0]


def _elf_sections(path: Path) -> dict[str, tuple[int, int]]:
    """name -> (file offset, file bytes), from ``readelf -S -W`` (NOBITS take none)."""
    out = subprocess.run(["readelf", "-S", "-W", str(path)], capture_output=True, text=True, check=True).stdout
    found = {}
    for m in re.finditer(r"^\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)", out, re.M):
        name, typ, off, size = m.groups()
        if typ != "NULL":
            _add(found, name, int(off, 16), 0 if typ == "NOBITS" else int(size, 16))
    return found


def _pe_sections(path: Path) -> dict[str, tuple[int, int]]:
    """name -> (file offset, raw bytes) from ``objdump -h``: its Size is the virtual size, which the raw data
    holds rounded up to the file alignment (512 for these linkers)."""
    out = subprocess.run(["objdump", "-h", str(path)], capture_output=True, text=True, check=True).stdout
    found = {}
    for m in re.finditer(r"^\s*\d+\s+(\S+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s+\S+\n\s+(.*)$",
                         out, re.M):
        name, size, off, flags = m.groups()
        if "CONTENTS" in flags:
            _add(found, name, int(off, 16), -(-int(size, 16) // 512) * 512)
    return found


def _macho_sections(path: Path) -> dict[str, tuple[int, int]]:
    """name -> (file offset, size) from ``llvm-readobj --sections`` (zero-fill sections take no file bytes)."""
    out = subprocess.run(["llvm-readobj", "--sections", str(path)], capture_output=True, text=True,
                         check=True).stdout
    found = {}
    for block in out.split("Section {")[1:]:
        name = re.search(r"Name: (\S+)", block).group(1)
        size = int(re.search(r"Size: (0x[0-9A-Fa-f]+)", block).group(1), 16)
        off = int(re.search(r"Offset: (\d+)", block).group(1))
        _add(found, name, off, 0 if "ZeroFill" in block or off == 0 else size)
    return found


def _add(found: dict[str, tuple[int, int]], name: str, off: int, size: int) -> None:
    """Same-named sections (Mach-O __rodata in two segments) add up; the offset is then unknown (-1)."""
    if name in found:
        found[name] = (-1, found[name][1] + size)
    else:
        found[name] = (off, size)


def _truth(path: Path) -> dict[str, tuple[int, int]]:
    head = path.read_bytes()[:4]
    if head[:2] == b"MZ":
        return _pe_sections(path)
    if head == b"\x7fELF":
        return _elf_sections(path)
    return _macho_sections(path)


def _nm(go: Path, binary: Path) -> dict[str, int]:
    out = subprocess.run([str(go), "tool", "nm", str(binary)], capture_output=True, text=True, check=True).stdout
    return {parts[2]: int(parts[0], 16) for parts in (line.split() for line in out.splitlines()) if len(parts) == 3}


def _section_evidence(b: dict) -> dict[str, tuple[int, int]]:
    out = {}
    for m in b["modules"]:
        for e in m.get("evidence", []):
            if e["kind"] == "section" and not e["name"].startswith("…"):
                size = int(e["detail"].split(" bytes")[0].replace(",", ""))
                at = re.search(r"at (0x[0-9a-f]+)", e["detail"])
                out[e["name"]] = (int(at.group(1), 16) if at else -1, size)
    return out


@pytest.mark.parametrize("build", list(BUILDS))
def test_nothing_big_is_unexplained(factory, build):
    binary = BUILDS[build](factory)
    b = _size(binary)
    total = binary.stat().st_size
    mods = {m["name"]: m for m in b["modules"]}
    assert sum(m["size"] for m in b["modules"]) == total
    other = mods.get("other", {"size": 0})["size"]
    assert other <= MAX_OTHER * total, (build, mods.get("other"))
    for m in b["modules"]:
        if m.get("kind") == "category":
            assert m["label"] and m["evidence"], m
    truth = _truth(binary)
    ours = _section_evidence(b)
    carved = {"go-exe": {".rdata"}}.get(build, set())  # Go ranges cut out of them
    for name, (off, size) in ours.items():
        assert name in truth, (name, sorted(truth))
        if name in carved:
            assert size < truth[name][1]
        elif name.startswith(".zdebug_"):  # objdump reports the decompressed size of compressed DWARF
            assert off == truth[name][0]
        else:
            assert (off, size) == truth[name], name
    # every section with file bytes is in some category (or the packages' code)
    # (code goes to the Go packages, and to C in a cgo binary; Go's type range may take all of a section)
    code_sections = {".text", ".plt", ".init", ".fini", ".plt.got", ".plt.sec", "__text"} if b["packages"] else set()
    missing = {n for n, (_, s) in truth.items() if s and n not in ours and n not in code_sections | carved}
    assert not missing, missing


@pytest.mark.parametrize("build", ["go", "go-1.19", "go-exe"])
def test_go_ranges_match_the_linker_symbols(factory, build):
    binary = BUILDS[build](factory)
    go = Path("/usr/lib/go-1.19/bin/go") if build == "go-1.19" else factory.gobin()
    if not go.exists():
        pytest.skip(f"{go} missing")
    sym = _nm(go, binary)
    b = _size(binary)
    mods = {m["name"]: m["size"] for m in b["modules"]}
    types = sym["runtime.etypes"] - sym["runtime.types"]
    pieces = {e["name"]: int(e["detail"].split(" bytes")[0].replace(",", ""))
              for m in b["modules"] if m["name"] == "gotypes" for e in m["evidence"]}
    if build == "go-1.19":  # types … etypes is all of .rodata there: no split is claimed
        rodata = next(m for m in b["modules"] if m["name"] == "rodata")
        assert abs(rodata["size"] - types) <= 64
        assert "runtime.firstmoduledata" not in pieces
    else:  # the type range from moduledata, or the .go.type section that holds exactly it (Go 1.26+ ELF)
        assert abs(pieces.get("runtime.firstmoduledata", pieces.get(".go.type", 0)) - types) <= 64, pieces
    assert abs(mods["pclntab"] - (sym["runtime.epclntab"] - sym["runtime.pclntab"])) <= 64


def test_without_section_headers(factory):
    """Section headers gone: text, data, pclntab and types come from moduledata; still under 3 % unexplained."""
    original = factory.go("nettool", ldflags="-s -w")
    binary = without_section_headers(factory, original)
    mods = {m["name"]: m["size"] for m in _size(binary)["modules"]}
    truth = _elf_sections(original)
    assert sum(mods.values()) == binary.stat().st_size
    assert mods.get("other", 0) <= MAX_OTHER * binary.stat().st_size
    assert abs(mods["gotypes"] - truth[".go.type"][1]) <= 64
    assert abs(mods["pclntab"] - truth[".gopclntab"][1]) <= 64


def test_many_sections(factory, tmp_path):
    """A hostile section table of 60,000 one-byte sections over the file: every byte still counted once (the
    attribution is one sweep, not a repaint per section)."""
    import struct

    data = bytearray(factory.c("hello.c").read_bytes())
    n = 60_000
    shoff = len(data)
    names = len(data) + n * 64
    table = bytearray()
    for i in range(n):  # sh_name 0, SHT_PROGBITS, no flags, offset i, size 1; the last one is the name table
        typ, off, size = (3, names, 1) if i == n - 1 else (1, i, 1)
        table += struct.pack("<IIQQQQIIQQ", 0, typ, 0, 0, off, size, 0, 0, 1, 0)
    data += table + b"\0"
    struct.pack_into("<Q", data, 40, shoff)  # e_shoff
    struct.pack_into("<HHH", data, 58, 64, n, n - 1)  # e_shentsize, e_shnum, e_shstrndx
    path = tmp_path / "many"
    path.write_bytes(bytes(data))
    out = subprocess.run(["readelf", "-h", str(path)], capture_output=True, text=True).stdout
    assert re.search(r"Number of section headers:\s+60000", out), out
    b = _size(path)
    assert sum(m["size"] for m in b["modules"]) == path.stat().st_size
    assert sum(s["size"] for s in b["sections"]) == path.stat().st_size
