"""``ElfExecutable.symbols_named``: many .symtab names looked up in one pass over the string table, each found as
``symbol()`` finds it. The names come from ``readelf -s`` of static glibc and musl programs (whose string tables merge
names into the tails of longer ones: ``main`` ends ``__libc_start_main``), plus names that are only tails or absent."""

from __future__ import annotations

import pytest

from depfree.errors import InputError
from depfree.formats.detect import open_executables
from depfree.formats.elf import ElfExecutable
from depfree.sources.file import FileSource
from helpers.oracles import readelf_symbols


@pytest.mark.parametrize("cc", ["gcc", "musl-gcc"])
def test_symbols_named_finds_what_readelf_lists_and_what_symbol_finds(factory, cc: str) -> None:  # type: ignore[no-untyped-def]
    factory.require(cc)
    path = factory.c("hello.c", cc=cc, flags=("-static",))
    listed = {name for name, _type, _ndx in readelf_symbols(path) if name}
    under = sorted(n for n in listed if n.startswith("_"))
    assert len(under) > 50
    # tails of listed names that no symbol is named (or is: then readelf lists it), and names nowhere in the table
    tails = sorted({n[i:] for n in under for i in (1, 2, 3) if n[i:].startswith("_")} - listed)[:40]
    absent = ["_no_such_symbol_here", "__libc_no_such_thing"]
    asked = [*under, *tails, *absent]
    with FileSource(path) as src:
        exe = open_executables(src)[0]
        assert isinstance(exe, ElfExecutable)
        found = exe.symbols_named(asked)
        one_by_one = {n: s for n in asked if (s := exe.symbol(n)) is not None}
    assert set(found) == set(under)  # every listed name, no tail that is not one, nothing absent
    assert found == one_by_one
    assert list(found) == [n for n in asked if n in found]  # in the order asked


def test_symbols_named_of_mixed_names_and_of_a_file_without_symtab(factory) -> None:  # type: ignore[no-untyped-def]
    path = factory.c("hello.c", flags=("-static",))
    with FileSource(path) as src:
        exe = open_executables(src)[0]
        assert isinstance(exe, ElfExecutable)
        assert set(exe.symbols_named(["main", "_start", "no_such"])) == {"main", "_start"}  # one search each
    stripped = factory.c("hello.c", flags=("-static", "-s"))
    assert not [n for n, _t, _i in readelf_symbols(stripped) if n]
    with FileSource(stripped) as src:
        exe = open_executables(src)[0]
        assert isinstance(exe, ElfExecutable)
        assert exe.symbols_named(["_start", "__libc_setup_tls"]) == {}


@pytest.mark.parametrize("program", ["static-c", "cgo"])
def test_symbol_of_a_name_with_many_hits_is_the_first_named(factory, program: str) -> None:  # type: ignore[no-untyped-def]
    """A name that ends many others in .strtab ("main", "init") has its later hits looked up in one pass over the
    st_name column; the symbol found must be the one pyelftools' entries give: of the symbols with that name, the
    one whose st_name comes first in the string table (then the lowest index), for every name with 4+ hits."""
    from elftools.elf.elffile import ELFFile

    path = factory.c("hello.c", flags=("-static",)) if program == "static-c" else factory.go("nettool", cgo=True)
    with open(path, "rb") as f:
        elf = ELFFile(f)
        symtab = elf.get_section_by_name(".symtab")
        strtab = elf.get_section(symtab["sh_link"]).data()
        first: dict[str, tuple[int, int, int]] = {}  # name -> (st_name, index, value)
        for i, sym in enumerate(symtab.iter_symbols()):
            if sym.name and (sym.name not in first or sym["st_name"] < first[sym.name][0]):
                first[sym.name] = (sym["st_name"], i, sym["st_value"])
    many = sorted(n for n in first if strtab.count(n.encode() + b"\0") >= 4)
    assert len(many) >= 3 and ("main" in many or program == "cgo")
    with FileSource(path) as src:
        exe = open_executables(src)[0]
        assert isinstance(exe, ElfExecutable)
        for name in many:
            sym = exe.symbol(name)
            assert sym is not None and sym.value == first[name][2], name
        assert exe.symbol("no_such_symbol_here") is None


@pytest.mark.parametrize("program", ["static-c", "static-musl", "cgo"])
def test_expected_names_are_found_as_symbol_finds_them(factory, program: str) -> None:  # type: ignore[no-untyped-def]
    """Names announced by expect_symbols() are found together, in one pass over a reversed copy of .strtab (on large
    tables; here on every table): each answer must be the one symbol() (or symbols_named(), for names that all start
    with "_") gives alone, for the pipeline's names,
    names ld merged into the tails of longer ones ("main" of "__libc_start_main"), names with many occurrences,
    tails no symbol is named, and names nowhere in the table."""
    from depfree.analysis.pipeline import EXPECTED_SYMBOLS

    if program == "static-musl":
        factory.require("musl-gcc")
    path = (factory.go("nettool", cgo=True) if program == "cgo"
            else factory.c("hello.c", cc="musl-gcc" if program == "static-musl" else "gcc", flags=("-static",)))
    listed = sorted({name for name, _type, _ndx in readelf_symbols(path) if name})
    asked = [*EXPECTED_SYMBOLS, *listed[::40], *(n[2:] for n in listed[::50] if len(n) > 3), "no_such_symbol", "main",
             "init", "start", "_start"]
    with FileSource(path) as a, FileSource(path) as b, FileSource(path) as c:
        def refuse() -> bytes:  # a file system that refuses mmap: the table is read into memory instead
            raise InputError(f"{c.name}: cannot map file")

        c.view = refuse  # type: ignore[method-assign]
        alone, together, read = open_executables(a)[0], open_executables(b)[0], open_executables(c)[0]
        assert isinstance(alone, ElfExecutable) and isinstance(together, ElfExecutable)
        assert isinstance(read, ElfExecutable)
        for exe in (together, read):
            exe.TOGETHER_MIN, exe.TOGETHER_HITS, exe.IN_PLACE = 0, 4096, 0  # (the string table read in place)
            exe.expect_symbols(asked)
        for name in asked:
            assert together.symbol(name) == alone.symbol(name) == read.symbol(name), name
        assert together._symtab_raw[1].buf is b.view() and isinstance(read._symtab_raw[1].buf, bytes)
        under = [n for n in asked if n.startswith("_")]
        assert len(under) > 2 and together.symbols_named(under) == alone.symbols_named(under)
        assert together.symbol_names() == alone.symbol_names()
        assert together.__dict__["_expected_found"]  # the pass answered them
        assert together.symbol("main" if program != "cgo" else "x_cgo_init") is not None
