"""The format-neutral Executable: the one vaddr <-> file offset pair against objdump's own translation, the reader
of NUL-terminated strings against readelf, a string osabi for an OS ABI pyelftools cannot name (readelf says which
number it is), and the interface kept honest: no module outside formats/ reads pefile or pyelftools objects or
reaches an executable's members by getattr."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

import depfree
from depfree.formats.detect import open_executables
from depfree.formats.elf import ElfExecutable
from depfree.sources.file import FileSource
from helpers.schema import assert_valid_report

SRC = Path(__file__).resolve().parent.parent / "src" / "depfree"


def objdump_file_offsets(objdump: str, path: Path, symbols: list[str]) -> dict[str, tuple[int, int]]:
    """{symbol: (address, file offset)} from ``objdump -d -F`` ("<main> (File Offset: 0x1139):")."""
    out = subprocess.run([objdump, "-d", "-F", str(path)], capture_output=True, text=True, check=True).stdout
    found = {}
    for addr, name, off in re.findall(r"^([0-9a-f]+) <([^>]+)> \(File Offset: 0x([0-9a-f]+)\):", out, re.M):
        if name in symbols:
            found[name] = (int(addr, 16), int(off, 16))
    return found


@pytest.mark.parametrize(("cc", "objdump"), [("gcc", "objdump"), ("x86_64-w64-mingw32-gcc", "x86_64-w64-mingw32-objdump")])
def test_vaddr_offset_pair_matches_objdump(factory, cc: str, objdump: str) -> None:  # type: ignore[no-untyped-def]
    factory.require(objdump)
    path = factory.c("hello.c", cc=cc)
    want = objdump_file_offsets(objdump, path, ["main"])
    assert "main" in want, f"objdump -d -F names no main in {path}"
    addr, off = want["main"]
    with FileSource(path) as src:
        (exe,) = open_executables(src)
        assert exe.vaddr_to_offset(addr) == off
        assert exe.offset_to_vaddr(off) == addr
        assert exe.read_at(addr, 16) == path.read_bytes()[off : off + 16]
        assert exe.vaddr_to_offset(max(s.vaddr + s.memsz for s in exe.segments()) + 0x10000) is None


def test_interpreter_needed_and_section_names_match_readelf(factory) -> None:  # type: ignore[no-untyped-def]
    path = factory.c("hello.c")
    prog = subprocess.run(["readelf", "-lW", str(path)], capture_output=True, text=True, check=True).stdout
    dyn = subprocess.run(["readelf", "-dW", str(path)], capture_output=True, text=True, check=True).stdout
    secs = subprocess.run(["readelf", "-SW", str(path)], capture_output=True, text=True, check=True).stdout
    interp = re.search(r"Requesting program interpreter: ([^\]]+)\]", prog)
    assert interp is not None
    with FileSource(path) as src:
        exe = ElfExecutable(src)
        assert exe.interpreter == interp.group(1)
        assert exe.needed == re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
        # readelf lists section [0] (SHT_NULL, no name) without a name column
        assert [s.name for s in exe.sections()][1:] == re.findall(r"^\s*\[\s*\d+\] (\S+)", secs, re.M)
        # the names one pattern searches (could_be_go, the DWARF sections): each after a NUL, section [0]'s empty one too
        assert exe.section_names.split("\0")[1:] == [s.name for s in exe.sections()]


_SECTION_ROW = re.compile(r"^\s*\[\s*\d+\] (\S*)\s+(\S+)\s+([0-9a-f]+) ([0-9a-f]+) ([0-9a-f]+) [0-9a-f]+\s+([A-Z]*)",
                          re.M)
_SEGMENT_ROW = re.compile(r"^\s+([A-Z_]+)\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x[0-9a-f]+ 0x([0-9a-f]+) "
                          r"0x([0-9a-f]+) ([RWE ]{3})", re.M)


@pytest.mark.parametrize("flags", [(), ("-static",)])
def test_section_and_program_headers_are_readelfs_rows(factory, flags: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    """Each Section and Segment the ELF reader makes is a whole row (every field of the NamedTuple, made without its
    __new__) with readelf -SW / -lW's name, type, address, offset, sizes and flags."""
    path = factory.c("hello.c", flags=flags)
    secs = _SECTION_ROW.findall(subprocess.run(["readelf", "-SW", str(path)], capture_output=True, text=True,
                                               check=True).stdout)
    segs = _SEGMENT_ROW.findall(subprocess.run(["readelf", "-lW", str(path)], capture_output=True, text=True,
                                               check=True).stdout)
    with FileSource(path) as src:
        exe = ElfExecutable(src)
        sections, segments = exe.sections(), exe.segments()
        assert len(sections) == len(secs) > 20 and len(segments) == len(segs) > 5
        for s, (name, typ, addr, off, size, flg) in zip(sections, secs, strict=True):
            assert len(s) == len(type(s)._fields) and s.name == name, s
            assert (s.addr, s.offset, s.size) == (int(addr, 16), int(off, 16), int(size, 16)), s
            assert s.file_size == (0 if typ == "NOBITS" else s.size), s
            assert (s.executable, s.writable, s.alloc) == ("X" in flg, "W" in flg, "A" in flg), s
        for g, (kind, off, vaddr, filesz, memsz, rwe) in zip(segments, segs, strict=True):
            assert len(g) == len(type(g)._fields), g
            assert g.kind == ("load" if kind == "LOAD" else f"PT_{kind}"), g
            assert (g.offset, g.vaddr, g.filesz, g.memsz) == tuple(int(v, 16) for v in (off, vaddr, filesz, memsz))
            assert (g.readable, g.writable, g.executable) == ("R" in rwe, "W" in rwe, "E" in rwe), g
        heads = exe._section_headers
        assert [h.name for h in heads] == [s.name for s in sections]
        assert all(len(h) == len(type(h)._fields) for h in heads)


def test_undefined_dynamic_symbols_are_readelfs_either_way_they_are_read(factory) -> None:  # type: ignore[no-untyped-def]
    """The undefined dynamic symbols, read one by one where each starts (fewer than half the table) or from the
    whole .dynstr split once: readelf --dyn-syms's UND names in table order either way, on a program that imports
    most of its symbols and a library that exports thousands."""
    import glob

    from helpers.oracles import readelf_symbols

    library = sorted(glob.glob("/usr/lib/x86_64-linux-gnu/libstdc++.so.6.*"))[-1]
    seen = set()
    for path in (factory.c("hello.c"), Path("/usr/bin/ls"), Path(library)):
        expected = [name for name, _typ, ndx in readelf_symbols(path, dynamic=True) if ndx == "UND" and name]
        for split_first in (False, True):
            with FileSource(path) as src:
                exe = ElfExecutable(src)
                if split_first:
                    exe._dynstr_names  # noqa: B018 - the table split before the names are asked for
                got = exe.dynamic_symbols()
                seen.add(("_dynstr_names" in exe.__dict__, split_first))
                assert [n for n in got if n] == expected, (path, split_first)
    assert (False, False) in seen and (True, False) in seen  # both ways taken without being forced


def test_symbol_version_indices_are_pyelftools_without_the_hidden_bit(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Each dynamic symbol's version index (DT_VERSYM, its VERSYM_HIDDEN bit cleared in C): pyelftools' ndx & 0x7fff
    on the host's libc.so.6 (little-endian, hundreds of hidden versions) and on a big-endian s390x build (zig cc)
    whose every entry was marked hidden on a copy."""
    from elftools.elf.elffile import ELFFile

    from helpers.corpus import zig_cc
    from helpers.factory import C_PROGRAMS

    def expected(path: Path) -> list[int]:
        with open(path, "rb") as fh:
            vs = ELFFile(fh).get_section_by_name(".gnu.version")
            ndx = [vs.get_symbol(i).entry["ndx"] for i in range(1, vs.num_symbols())]
        named = {"VER_NDX_LOCAL": 0, "VER_NDX_GLOBAL": 1}
        return [named[n] if isinstance(n, str) else n for n in ndx]

    libc = Path("/usr/lib/x86_64-linux-gnu/libc.so.6")
    assert sum(1 for n in expected(libc) if n & 0x8000) > 100
    built = zig_cc(factory, C_PROGRAMS / "hello.c", target="s390x-linux-gnu")
    data = bytearray(built.read_bytes())
    with open(built, "rb") as fh:
        sec = ELFFile(fh).get_section_by_name(".gnu.version")
        start, size = sec["sh_offset"], sec["sh_size"]
    be = tmp_path / "hello-s390x"
    for at in range(start + 2, start + size, 2):  # entries 1..: the high byte comes first in big-endian
        data[at] |= 0x80
    be.write_bytes(bytes(data))
    assert all(n & 0x8000 for n in expected(be)) and expected(be)
    for path in (libc, be):
        with FileSource(path) as src:
            got = list(ElfExecutable(src)._dynsym_columns[2])
        assert got == [n & 0x7FFF for n in expected(path)], path


def test_unknown_osabi_is_a_string_named_by_its_number(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(factory.c("hello.c").read_bytes())
    data[7] = 0x42  # EI_OSABI: no ABI has this number
    bad = tmp_path / "osabi"
    bad.write_bytes(bytes(data))
    head = subprocess.run(["readelf", "-h", str(bad)], capture_output=True, text=True, check=True).stdout
    number = re.search(r"OS/ABI:\s+<unknown: ([0-9a-f]+)>", head)
    assert number is not None, head
    report = depfree.inspect(str(bad))
    assert report.binaries[0].osabi == f"ELFOSABI_{int(number.group(1), 16)}"
    assert_valid_report(report.to_json())


def _python_files(*dirs: str) -> list[Path]:
    return [p for d in dirs for p in (SRC / d).rglob("*.py")] + [p for p in SRC.glob("*.py")]


def test_only_formats_read_pefile_and_pyelftools() -> None:
    outside = [d.name for d in SRC.iterdir() if d.is_dir() and d.name not in ("formats", "data", "__pycache__")]
    hits = []
    for path in _python_files(*outside):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            hits += [f"{path.relative_to(SRC)}:{node.lineno} {n}" for n in names if n.split(".")[0] in ("pefile", "elftools")]
    assert not hits, hits


def test_no_getattr_on_an_executable() -> None:
    """Analyzers use what Executable declares (or a reader's typed members after isinstance), never getattr."""
    hits = []
    for path in _python_files(*[d.name for d in SRC.iterdir() if d.is_dir()]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr"):
                target = ast.unparse(node.args[0]) if node.args else ""
                if target in ("exe", "ctx.exe", "self.exe"):
                    hits.append(f"{path.relative_to(SRC)}:{node.lineno} {ast.unparse(node)}")
    assert not hits, hits


def test_find_and_rfind_give_the_first_and_last_offset_bytes_find_gives(factory) -> None:  # type: ignore[no-untyped-def]
    """The static libc's string signs are searched from the end (analysis/staticlibc.py): ``rfind`` must give the
    same answer as Python's bytes.rfind over the file, ``find`` bytes.find's, and both -1 for ranges a hostile
    header could give (past the end, negative, reversed, beyond 2**63)."""
    path = factory.c("hello.c", flags=("-static",))
    data = path.read_bytes()
    needle = b"GLIBC_TUNABLES"
    assert data.find(needle) >= 0
    with FileSource(path) as src:
        (exe,) = open_executables(src)
        assert exe.find(needle) == data.find(needle)
        assert exe.rfind(needle) == data.rfind(needle)
        first = data.find(needle)
        assert exe.rfind(needle, 0, first + len(needle)) == first
        assert exe.find(needle, first + 1) == data.find(needle, first + 1)
        assert exe.rfind(needle, first + 1) == data.rfind(needle, first + 1)
        for start, end in ((len(data), None), (-5, 3), (100, 50), (1 << 63, (1 << 64) - 1), (0, -(1 << 63))):
            assert exe.find(b"\x7fELF", start, end) == -1
            assert exe.rfind(needle, start, end) == -1
