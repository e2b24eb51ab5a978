"""pclntab reader and Go detection without build info, on real binaries from several toolchains."""

from __future__ import annotations

import base64
import gzip
import os
import random
import shutil
import subprocess

import pytest

from depfree.analysis.context import Context, Options
from depfree.analysis.gotables import find_pclntab
from depfree.api import inspect, size_path
from depfree.formats.detect import open_executables
from depfree.golang.pclntab import PclntabError, header_at, validate
from depfree.golang.search import could_be_go, search_pclntab
from depfree.model import to_json
from depfree.sources.file import BytesSource, FileSource
from depfree.toolchains import read_goroot_version
from helpers.factory import GO_VERSIONS
from helpers.gofixtures import (
    RawImage,
    gccgo_build,
    go_tool_nm,
    rust_hello,
    without_buildinfo,
    without_buildinfo_magic,
    without_section_headers,
)
from helpers.truth import readelf

# The pclntab magic each release writes (GOROOT src/internal/abi/symtab.go, debug/gosym/pclntab.go).
LAYOUT = {"1.27.3": "1.20", "1.24.11": "1.20", "1.21.13": "1.20", "debian-1.19": "1.18"}


def _release(factory, go: str) -> str:
    return read_goroot_version(factory.goroot(go))


def _go(path) -> dict:
    report = inspect(path)
    assert not report.errors, report.errors
    return report.binaries[0].go


def _section_offset(path, name: str) -> int | None:
    out = subprocess.run(["readelf", "-SW", str(path)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.replace("[ ", "[").split()
        if len(parts) > 5 and parts[1] == name:
            return int(parts[4], 16)
    return None


@pytest.mark.parametrize("go", GO_VERSIONS)
def test_pclntab_from_section_matches_symbols(factory, go):
    binary = factory.go("plain", go=go)
    with FileSource(binary) as src:
        exe = open_executables(src)[0]
        tab = find_pclntab(exe)
        assert tab is not None and tab.found_by == "section .gopclntab"
        assert tab.layout == LAYOUT[go]
        assert tab.offset == _section_offset(binary, ".gopclntab")
        funcs = {f.name: f for f in tab.functions()}
        nm = go_tool_nm(factory, binary, go)
        # every pclntab function is a text symbol at the same address (go tool nm reads .symtab)
        assert funcs["main.main"].entry == nm["main.main"]
        assert funcs["runtime.main"].entry == nm["runtime.main"]
        # every function starts at a text symbol (names may differ by an ABI suffix such as ".abi0")
        addrs = set(nm.values())
        assert all(f.entry in addrs for f in funcs.values())
        assert sum(n in nm or n + ".abi0" in nm for n in funcs) >= 0.99 * len(funcs)
        # the signature search finds the same table
        found = search_pclntab(exe)
        assert found is not None and found.offset == tab.offset


@pytest.mark.parametrize("go", GO_VERSIONS)
def test_version_without_buildinfo(factory, go):
    binary = without_buildinfo(factory, factory.go("plain", go=go))
    assert _section_offset(binary, ".go.buildinfo") is None
    g = _go(binary)
    assert g is not None
    assert g.version == _release(factory, go)
    assert g.source == "symbols"  # .symtab still names runtime.buildVersion
    assert g.compiler == "gc"


@pytest.mark.parametrize("go", ["1.27.3", "debian-1.19"])
def test_version_stripped_and_without_buildinfo(factory, go):
    binary = without_buildinfo(factory, factory.go("plain", go=go, ldflags="-s -w"))
    assert readelf(binary).machine  # still an ELF file
    g = _go(binary)
    assert g.version == _release(factory, go)
    assert g.source == "pclntab"
    assert any(e.name == "runtime.buildVersion" and e.kind == "string" for e in g.evidence)


@pytest.mark.parametrize("go", ["1.27.3", "1.21.13"])
def test_version_without_section_headers(factory, go):
    binary = without_section_headers(factory, without_buildinfo(factory, factory.go("plain", go=go)))
    out = subprocess.run(["readelf", "-hW", str(binary)], capture_output=True, text=True, check=True).stdout
    assert "Number of section headers:         0" in out
    g = _go(binary)
    assert g.version == _release(factory, go)
    assert g.source == "pclntab"
    assert any("search" in e.detail for e in g.evidence)
    assert g.cgo is False


def test_stripped_binary_keeps_buildinfo_version(factory):
    binary = factory.go("plain", ldflags="-s -w")
    g = _go(binary)
    assert g.source == "buildinfo" and g.version == _release(factory, "1.27.3")
    assert g.features is not None  # pclntab still there: features filled


@pytest.mark.parametrize("goarch,ptr,order", [("arm64", 8, "little"), ("386", 4, "little"), ("s390x", 8, "big")])
def test_other_arches_without_buildinfo(factory, goarch, ptr, order):
    """64-bit, 32-bit and big-endian tables (llvm-objcopy handles every architecture)."""
    binary = without_buildinfo(factory, factory.go("plain", goarch=goarch, ldflags="-s -w"), "llvm-objcopy")
    assert _section_offset(binary, ".go.buildinfo") is None
    g = _go(binary)
    assert g.version == _release(factory, "1.27.3") and g.source == "pclntab"
    with FileSource(binary) as src:
        tab = find_pclntab(open_executables(src)[0])
        assert (tab.ptr_size, tab.order) == (ptr, order)
        assert "main.main" in {f.name for f in tab.functions()}


@pytest.mark.parametrize("goos,goarch", [("windows", "amd64"), ("windows", "arm64"), ("darwin", "amd64"),
                                         ("darwin", "arm64")])
def test_search_in_pe_and_macho_bytes(factory, goos, goarch):
    """The search needs no format reader: a raw view of a PE or Mach-O file still yields the table."""
    binary = factory.go("plain", goos=goos, goarch=goarch)
    with FileSource(binary) as src:
        tab = search_pclntab(RawImage(src))
        assert tab is not None and tab.layout == "1.20"
        names = [f.name for f in tab.functions()]
    assert "main.main" in names and "runtime.main" in names


@pytest.mark.parametrize("goos,goarch,ldflags,source", [
    ("windows", "amd64", "", "symbols"), ("windows", "amd64", "-s -w", "pclntab"), ("windows", "arm64", "", "symbols"),
    ("darwin", "arm64", "", "symbols"), ("darwin", "amd64", "-s -w", "pclntab"),
])
def test_pe_and_macho_without_buildinfo(factory, goos, goarch, ldflags, source):
    pytest.importorskip(f"depfree.formats.{'pe' if goos == 'windows' else 'macho'}")
    built = factory.go("plain", goos=goos, goarch=goarch, ldflags=ldflags)
    assert _go(built).source == "buildinfo"
    binary = without_buildinfo_magic(factory, built)
    gobin = str(factory.gobin("1.27.3"))
    proc = subprocess.run([gobin, "version", str(binary)], capture_output=True, text=True, check=False)
    assert "go1." not in proc.stdout  # the toolchain itself no longer recognises it
    g = _go(binary)
    assert g.version == _release(factory, "1.27.3")
    assert g.source == source
    assert g.features is not None and g.features["netgo"].value is False  # plain links no net
    assert "main" in {p.path for p in inspect(binary, deep=True).binaries[0].go.packages}


def _goroot_with_pcln115(factory):
    for go in ("debian-1.19", "1.27.3"):
        path = factory.goroot(go) / "src" / "debug" / "gosym" / "testdata" / "pcln115.gz"
        if path.is_file():
            return path
    pytest.fail("no GOROOT ships src/debug/gosym/testdata/pcln115.gz")


def test_go115_layout(factory):
    """Go 1.15's pclntab (1.2 layout) from GOROOT test data; Go's own test (Test115PclnParsing) says main.main
    starts at 0x105c280."""
    data = gzip.decompress(_goroot_with_pcln115(factory).read_bytes())
    exe = RawImage(BytesSource(data, "pcln115"))
    tab = header_at(exe, 0)
    validate(tab)
    assert tab.layout == "1.2" and tab.ptr_size == 8 and tab.quantum == 1
    funcs = {f.name: f for f in tab.functions()}
    assert funcs["main.main"].entry == 0x105C280
    assert "runtime.main" in funcs
    assert search_pclntab(exe).offset == 0


def _go117(factory):
    """GOROOT's Go 1.17 hello world (src/debug/buildinfo/testdata/go117): the Go 1.16-1.17 pclntab layout."""
    src = factory.goroot("1.27.3") / "src" / "debug" / "buildinfo" / "testdata" / "go117" / "go117.base64"
    return factory.cached(("go117", src.read_text()), lambda out: out.write_bytes(base64.b64decode(src.read_text())),
                          name="go117")


def test_go116_layout(factory):
    binary = _go117(factory)
    truth = subprocess.run([str(factory.gobin("1.27.3")), "version", str(binary)], capture_output=True, text=True,
                           check=True).stdout.split()[-1]
    assert truth == "go1.17"
    with FileSource(binary) as src:
        tab = find_pclntab(open_executables(src)[0])
        assert tab.layout == "1.16"
        funcs = {f.name: f for f in tab.functions()}
    nm = go_tool_nm(factory, binary)
    assert funcs["main.main"].entry == nm["main.main"]
    g = _go(without_buildinfo(factory, binary))
    assert g.version == truth and g.source == "symbols"
    assert any("Go 1.16-1.17 layout" in e.detail for e in g.evidence)
    g = _go(without_section_headers(factory, without_buildinfo(factory, binary)))
    assert g.version == truth and g.source == "pclntab"


def test_gccgo(factory):
    binary = gccgo_build(factory)
    facts = readelf(binary)
    libgo = [n for n in facts.needed if n.startswith("libgo.so")]
    assert libgo, facts.needed
    report = inspect(binary)
    b = report.binaries[0]
    assert b.go is not None and b.go.compiler == "gccgo" and b.go.source == "gccgo"
    assert libgo[0] in b.linkage.needed
    assert any(libgo[0] in e.detail for e in b.go.evidence)
    feats = to_json(b.go.features)
    assert feats["netgo"]["value"] is False  # plain links no net


def _not_go(path) -> None:
    report = inspect(path)
    assert not report.errors
    assert all(b.go is None for b in report.binaries)


def test_c_is_not_go(factory):
    _not_go(factory.c("hello.c"))
    _not_go(factory.c("hello.c", flags=("-static", "-s")))


def test_cpp_is_not_go(factory):
    _not_go(factory.c("hello_cpp.cpp", cc="g++"))


def test_rust_is_not_go(factory):
    _not_go(rust_hello(factory))


def test_random_bytes_with_magics_are_not_go():
    """Random bytes with pclntab headers planted every 4 KiB."""
    rng = random.Random(1234)
    blob = bytearray(rng.randbytes(1 << 20))
    for i in range(0, len(blob) - 64, 4096):  # plant every pclntab magic with a plausible header
        blob[i : i + 8] = bytes.fromhex("f1ffffff00000108")
    blob[100:115] = b"runtime.goexit\0"  # get past the cheap pre-check: the validation must reject every hit
    exe = RawImage(BytesSource(bytes(blob)))
    assert search_pclntab(exe) is None


def test_system_programs_are_not_go():
    for path in ("/bin/ls", "/usr/bin/python3"):
        if os.path.exists(path):
            _not_go(os.path.realpath(path))


# --- error paths -------------------------------------------------------------------------------------------------
def _raw(data: bytes) -> RawImage:
    return RawImage(BytesSource(data))


def test_header_errors():
    with pytest.raises(PclntabError, match="cut off"):
        header_at(_raw(b"\xf1\xff\xff\xff"), 0)
    with pytest.raises(PclntabError, match="no pclntab magic"):
        header_at(_raw(b"\x7fELF" + bytes(60)), 0)
    with pytest.raises(PclntabError, match="quantum"):
        header_at(_raw(bytes.fromhex("f1ffffff00000308") + bytes(100)), 0)
    with pytest.raises(PclntabError, match="claims 0 functions"):
        header_at(_raw(bytes.fromhex("f1ffffff00000108") + bytes(100)), 0)
    words = [5, 1, 0, 0x90, 0x80, 0x70, 0x60, 0x50]  # offsets not increasing
    with pytest.raises(PclntabError, match="not increasing"):
        header_at(_raw(bytes.fromhex("f1ffffff00000108") + b"".join(w.to_bytes(8, "little") for w in words)
                       + bytes(200)), 0)


def test_truncated_table_is_rejected(factory):
    binary = factory.go("plain")
    with FileSource(binary) as src:
        tab = find_pclntab(open_executables(src)[0])
        cut = src.read_at(0, tab.functab + 64)  # the function table is cut off
    exe = _raw(cut)
    with pytest.raises(PclntabError):
        t = header_at(exe, tab.offset)
        validate(t)
    assert search_pclntab(exe) is None


def test_corrupt_table_is_not_go(factory):
    """Scrambled function entries: the table fails validation, and the file is not claimed as Go."""
    binary = factory.go("plain", ldflags="-s -w")
    with FileSource(binary) as src:
        tab = find_pclntab(open_executables(src)[0])
        data = bytearray(src.read_at(0, src.size))
    for k in range(tab.functab + 8, tab.functab + 8 + 400, 8):
        data[k : k + 4] = (0xFFFFFFF0 - k).to_bytes(4, "little")
    exe = _raw(bytes(data))
    with pytest.raises(PclntabError, match="increasing|outside"):
        validate(header_at(exe, tab.offset))
    ctx = Context(exe=exe, binary=None, options=Options())  # type: ignore[arg-type]
    assert find_pclntab(ctx.exe) is None


@pytest.mark.parametrize("damage,message", [
    ("swap", "function entries are not in increasing order"),
    ("zero", "function data offset 0x0 is outside it"),
    ("far", "function data offset 0x7ffffff0 is outside it"),
])
def test_each_table_check_names_its_fault(factory, damage, message):
    """One fault of the function table at a time (Go 1.18+: uint32 pairs entry, funcoff from the pclnOffset of the
    header): two entries out of order, a funcoff of 0, a funcoff past the end; each one PclntabError naming it."""
    binary = factory.go("plain", ldflags="-s -w")
    with FileSource(binary) as src:
        tab = find_pclntab(open_executables(src)[0])
        data = bytearray(src.read_at(0, src.size))
    pair = tab.functab + 8 * 40
    if damage == "swap":
        data[pair : pair + 8], data[pair + 8 : pair + 16] = data[pair + 8 : pair + 16], data[pair : pair + 8]
    else:
        data[pair + 4 : pair + 8] = (0 if damage == "zero" else 0x7FFFFFF0).to_bytes(4, "little")
    with pytest.raises(PclntabError, match=message):
        validate(header_at(_raw(bytes(data)), tab.offset))


def _damaged_pclntab(factory, binary):
    """A copy whose .gopclntab function table points far outside the table (a packer or a bad patch)."""
    off = _section_offset(binary, ".gopclntab")

    def build(out):
        data = bytearray(binary.read_bytes())
        with FileSource(binary) as src:
            tab = find_pclntab(open_executables(src)[0])
        for k in range(tab.functab + 4, tab.functab + 4 + 8 * 50, 8):  # funcoff fields (Go 1.18+: uint32 pairs)
            data[k : k + 4] = (0x7FFFFFF0).to_bytes(4, "little")
        out.write_bytes(bytes(data))

    assert off is not None
    return factory.cached(("damaged-pclntab", binary), build, name=binary.name)


def test_damaged_pclntab_section(factory):
    binary = _damaged_pclntab(factory, factory.go("plain", ldflags="-s -w"))
    g = _go(binary)  # build info still says Go; the broken table only costs the features
    assert g.source == "buildinfo" and g.version == _release(factory, "1.27.3")
    assert {f["value"] for f in to_json(g.features).values()} == {None}  # unknown, with the reason
    assert "unreadable" in g.features["netgo"].evidence[0].detail
    report = inspect(binary, deep=True)
    assert not report.errors and report.binaries[0].go.packages is None
    # without build info, the damaged table proves nothing: not called Go
    assert _go(without_buildinfo(factory, binary)) is None


def test_cgo_without_buildinfo(factory):
    """Build settings gone: cgo from the binary (imports of a dynamic build, or cgo code in the pclntab)."""
    binary = without_section_headers(factory, without_buildinfo(factory, factory.go("nettool", cgo=True,
                                                                                       ldflags="-s -w")))
    assert readelf(factory.go("nettool", cgo=True)).interpreter  # a dynamically linked cgo build
    g = _go(binary)
    assert g.source == "pclntab" and g.version == _release(factory, "1.27.3")
    assert g.cgo is True and g.cgo_evidence
    with FileSource(binary) as src:
        exe = open_executables(src)[0]
        ctx = Context(exe=exe, binary=None, options=Options())  # type: ignore[arg-type]
        assert any(n.startswith(("x_cgo_", "_cgo_")) for n in ctx.go.function_names)


def test_pie_without_buildinfo(factory):
    binary = without_section_headers(factory, without_buildinfo(factory, factory.go("plain", buildmode="pie",
                                                                                      ldflags="-s -w")))
    g = _go(binary)
    assert g.version == _release(factory, "1.27.3") and g.source == "pclntab"


def test_renamed_pclntab_section(factory):
    """A post-processor renamed .gopclntab: found by the search, not by name."""
    objcopy = factory.require("objcopy")
    src = without_buildinfo(factory, factory.go("plain", ldflags="-s -w"))
    binary = factory.cached(("renamed-pclntab", src), lambda out: subprocess.run(
        [objcopy, "--rename-section", ".gopclntab=.rodata.x", str(src), str(out)], check=True), name="plain")
    assert _section_offset(binary, ".gopclntab") is None and _section_offset(binary, ".rodata.x") is not None
    g = _go(binary)
    assert g.version == _release(factory, "1.27.3") and g.source == "pclntab"
    assert any("validated search" in e.detail for e in g.evidence)


def test_search_skips_elf_files_whose_sections_show_no_go(factory):
    """The whole-file search runs when Go may hide in the file (renamed sections still leave .note.go.buildid; no
    section headers at all), and not for an ELF whose intact section table has nothing of the gc linker."""
    renamed = without_buildinfo(factory, factory.go("plain", ldflags="-s -w"))
    cases = {factory.c("hello.c", flags=("-static",)): False, gccgo_build(factory): False, rust_hello(factory): False,
             renamed: True, without_section_headers(factory, renamed): True}
    for path, expected in cases.items():
        with FileSource(str(path)) as src:
            assert could_be_go(open_executables(src)[0]) is expected, path


def test_universal_macho_without_buildinfo(factory):
    """A universal (fat) Mach-O of two -s -w slices, build info magic zeroed: each slice found at its own offset."""
    pytest.importorskip("depfree.formats.macho")
    lipo = shutil.which("llvm-lipo") or factory.require("llvm-lipo-14")  # Debian 12's llvm ships it versioned
    slices = [without_buildinfo_magic(factory, factory.go("plain", goos="darwin", goarch=a, ldflags="-s -w"))
              for a in ("amd64", "arm64")]
    fat = factory.cached(("fat", *slices), lambda out: subprocess.run(
        [lipo, "-create", *map(str, slices), "-output", str(out)], check=True), name="plain")
    report = inspect(fat, deep=True)
    assert not report.errors
    assert sorted(b.arch for b in report.binaries) == ["amd64", "arm64"]
    for b in report.binaries:
        assert b.go.version == _release(factory, "1.27.3") and b.go.source == "pclntab"
        assert "main" in {p.path for p in b.go.packages}
    for r in size_path(fat):  # per slice: parts sum to the slice's size
        assert sum(p.size for p in r.sections) == r.size == sum(m.size for m in r.modules)
        assert r.packages[0].name == "runtime"


@pytest.mark.parametrize("go", GO_VERSIONS)
def test_linked_function_names_is_the_function_table(factory, go):
    """The set the needs analyzer reads equals the names of every function-table entry (Function list)."""
    with FileSource(str(factory.go("nettool", go=go))) as src:
        exe = open_executables(src)[0]
        names = {f.name for f in find_pclntab(exe).functions()}
        assert Context(exe, None, Options()).go.linked_names == names  # type: ignore[arg-type]
        assert "net.(*Resolver).lookupHost" in names


def test_pclntab_by_symbol_on_elf_without_the_section(factory):
    """An externally linked ELF can keep the pclntab inside .data.rel.ro with only the ``runtime.pclntab`` symbol
    naming it (the docker CLI): the table is found by the symbol (one string-table lookup, no search of the file),
    at the address ``readelf -s`` gives, with the function table of the same binary found by its section; without
    build info the evidence names the symbol."""
    binary = factory.go("nettool", cgo=True)
    tool = factory.require("objcopy")
    renamed = factory.cached(("pclntab-renamed", binary),
                             lambda out: subprocess.run([tool, "--rename-section", ".gopclntab=.data.rel.ro.pcln",
                                                         str(binary), str(out)], check=True),
                             name=binary.name)
    syms = subprocess.run(["readelf", "-s", "-W", str(renamed)], capture_output=True, text=True, check=True).stdout
    value = next(int(line.split()[1], 16) for line in syms.splitlines() if line.endswith(" runtime.pclntab"))
    with FileSource(binary) as a, FileSource(renamed) as b:
        by_section, by_symbol = find_pclntab(open_executables(a)[0]), find_pclntab(open_executables(b)[0])
        assert by_section is not None and by_section.found_by == "section .gopclntab"
        assert by_symbol is not None and by_symbol.found_by == "symbol runtime.pclntab"
        assert by_symbol.addr == value == by_section.addr
        validate(by_symbol)
        assert [f.name for f in by_symbol.functions()] == [f.name for f in by_section.functions()]
    go = inspect(without_buildinfo(factory, renamed)).binaries[0].go
    assert go is not None and go.source == "symbols"
    assert go.evidence[0].kind == "symbol" and go.evidence[0].name == "runtime.pclntab"


@pytest.mark.parametrize("go,goarch", [(v, "amd64") for v in GO_VERSIONS] + [("1.27.3", "s390x"), ("1.27.3", "386")])
def test_name_offsets_of_the_whole_table_as_the_loop_reads_them(factory, go, goarch):
    """The whole table's name offsets come from word arrays (little-endian Go 1.18+ tables); each must be the one
    the per-function loop reads, and big-endian or older tables take the loop."""
    with FileSource(factory.go("plain", go=go, goarch=goarch)) as src:
        tab = find_pclntab(open_executables(src)[0])
        assert tab is not None
        assert tab.name_offsets() == tab.name_offsets(tab.entries())
        fast = tab._name_offsets_fast(tab.exe.base + tab.funcdata, tab.exe.base + tab.end,
                                      4 if tab.layout in ("1.18", "1.20") else tab.ptr_size)
        assert (fast is not None) == (tab.layout in ("1.18", "1.20") and tab.order == "little")
