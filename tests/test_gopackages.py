"""Go packages, functions and build features from the pclntab, checked against ``go list -deps`` of the sources."""

from __future__ import annotations

import subprocess

import pytest

from depfree.analysis.context import Context, Options
from depfree.analysis.gomodules import guess_module
from depfree.analysis.identity import identity
from depfree.api import inspect
from depfree.formats.detect import open_executables
from depfree.golang.funcnames import is_std, package_of, strip_instantiation
from depfree.model import to_json
from depfree.sources.file import FileSource
from depfree.toolchains import go_env
from helpers.gofixtures import gccgo_build, go_list_deps, without_buildinfo, without_section_headers
from helpers.schema import assert_valid_report


def _paths(binary) -> tuple[set[str], list[str]]:
    with FileSource(binary) as src:
        exe = open_executables(src)[0]
        ctx = Context(exe=exe, binary=identity(exe, str(binary), ""), options=Options())
        return ctx.go.package_paths, ctx.go.function_names


def _deep(binary):
    report = inspect(binary, deep=True)
    assert not report.errors
    assert_valid_report(report.to_json())
    return report.binaries[0].go


@pytest.mark.parametrize("program,cgo", [("nettool", False), ("nettool", True), ("withdeps", False),
                                         ("generics", False)])
def test_package_paths_match_go_list(factory, program, cgo):
    binary = factory.go(program, cgo=cgo)
    deps = go_list_deps(factory, program, cgo=cgo)
    paths, names = _paths(binary)
    assert "main.main" in names
    main_path = next(p for p in deps if deps[p][0] and p.split("/")[-1] == program)  # the main package
    paths = {main_path if p == "main" else p for p in paths}
    # every package found in the binary is one the build compiled ...
    assert paths <= set(deps), sorted(paths - set(deps))
    # ... and the packages whose code the program runs are found (go list also lists packages of constants and
    # types only, and a function inlined down to a constant, like localdep.Name, leaves no trace)
    must = {"runtime", "fmt", main_path} | {
        "nettool": {"net", "os/user", "crypto/tls", "net/http", "time"},
        "withdeps": {"example.com/greeter"},
        "generics": {"example.com/generics/kit.v2"},
    }[program]
    assert must <= paths, sorted(must - paths)
    assert len(paths) > 0.6 * len(deps)


def test_package_paths_survive_stripping(factory):
    normal, _ = _paths(factory.go("nettool"))
    stripped = without_section_headers(factory, without_buildinfo(factory, factory.go("nettool", ldflags="-s -w")))
    found, names = _paths(stripped)
    assert found == normal
    assert len(names) > 1000


def test_deep_packages_kinds_and_modules(factory):
    deps = go_list_deps(factory, "withdeps")
    go = _deep(factory.go("withdeps"))
    assert go.packages is not None
    by_path = {p.path: p for p in go.packages}
    for path, pkg in by_path.items():
        if path == "C":
            continue
        module, std = deps["example.com/withdeps" if path == "main" else path]
        if std:
            assert pkg.kind == "std" and pkg.module == "std", pkg
        elif path == "main" or module == "example.com/withdeps":
            assert pkg.kind == "main" and pkg.module == "example.com/withdeps", pkg
        else:
            assert pkg.kind == "dep" and pkg.module == module, pkg
    assert by_path["example.com/greeter"].kind == "dep"
    assert by_path["main"].functions >= 1 and by_path["main"].size > 0
    assert by_path["runtime"].size == max(p.size for p in go.packages)


def test_deep_without_buildinfo_keeps_packages(factory):
    go = _deep(without_buildinfo(factory, factory.go("withdeps", ldflags="-s -w")))
    assert go.source == "pclntab"
    by_path = {p.path: p for p in go.packages}
    assert by_path["example.com/greeter"].kind == "dep"
    assert by_path["main"].kind == "main"
    assert by_path["fmt"].kind == "std"


def test_deep_not_without_flag(factory):
    report = inspect(factory.go("plain"))
    go = report.binaries[0].go
    assert go.packages is None and go.features is not None


def _features(binary) -> dict:
    report = inspect(binary)
    assert_valid_report(report.to_json())
    feats = to_json(report.binaries[0].go.features)
    assert set(feats) == {"netgo", "netcgo", "osusergo", "tzdata_embedded", "x509_system_roots", "fips140",
                          "boringcrypto", "race"}
    for v in feats.values():
        assert v["value"] in (True, False, None) and v["evidence"]
    return {k: v["value"] for k, v in feats.items()}


def test_features_pure_go(factory):
    f = _features(factory.go("nettool"))
    assert f["netgo"] is True and f["netcgo"] is False
    assert f["osusergo"] is True
    assert f["x509_system_roots"] is True
    assert f["tzdata_embedded"] is False and f["race"] is False and f["boringcrypto"] is False
    assert f["fips140"] is False  # module linked, GOFIPS140 not set


def test_features_cgo(factory):
    f = _features(factory.go("nettool", cgo=True))
    assert f["netcgo"] is True and f["netgo"] is False
    assert f["osusergo"] is False


def test_features_race(factory):
    """-race (GOFLAGS): the toolchain records it as the build setting -race=true."""
    binary = factory.go("plain", cgo=True, env={"GOFLAGS": "-mod=mod -buildvcs=false -race"})
    assert inspect(binary).binaries[0].go.settings.get("-race") == "true"
    assert _features(binary)["race"] is True
    assert _features(without_buildinfo(factory, binary))["race"] is True


def test_features_windows(factory):
    f = _features(factory.go("nettool", goos="windows"))
    assert f["netgo"] is False and f["netcgo"] is False  # GetAddrInfoW (net/lookup_windows.go)
    assert f["osusergo"] is False and f["x509_system_roots"] is True


def test_features_plain(factory):
    f = _features(factory.go("plain"))
    assert f["netgo"] is False and f["netcgo"] is False and f["osusergo"] is False
    assert f["x509_system_roots"] is False


def test_features_tzdata_tag(factory):
    """-tags timetzdata links time/tzdata (GOROOT src/time/tzdata_test / time package docs)."""
    binary = factory.go("plain", tags="timetzdata")
    assert "time/tzdata" in go_list_deps(factory, "plain", tags="timetzdata")
    assert _features(binary)["tzdata_embedded"] is True


def test_features_fips(factory):
    binary = factory.go("nettool", env={"GOFIPS140": "latest"})
    report = inspect(binary)
    assert report.binaries[0].go.settings.get("GOFIPS140") == "latest"
    assert _features(binary)["fips140"] is True
    # without build info the default mode cannot be told
    assert _features(without_buildinfo(factory, binary))["fips140"] is None


def test_gccgo_packages(factory):
    """gccgo output has no pclntab: packages come from the per-package init/type symbols libgo provides."""
    binary = gccgo_build(factory, "nettool")
    paths, names = _paths(binary)
    assert names == []
    # what nettool imports (tests/programs/go/nettool/main.go) and what net/http imports in turn
    assert {"crypto/tls", "flag", "fmt", "net", "net/http", "os", "os/user", "time", "bufio"} <= paths
    assert all(" " not in p and not p.startswith("/") for p in paths)
    report = inspect(binary)
    assert_valid_report(report.to_json())
    go = report.binaries[0].go
    assert go.compiler == "gccgo"
    assert go.features["netgo"].value is None and go.features["race"].value is False
    deep = _deep(binary)
    kinds = {p.path: p.kind for p in deep.packages}
    assert kinds["net/http"] == "std" and kinds["main"] == "main"


def test_non_go_has_no_packages(factory):
    paths, names = _paths(factory.c("hello.c"))
    assert paths == set() and names == []
    report = inspect(factory.c("hello.c"), deep=True)
    assert report.binaries[0].go is None


@pytest.mark.parametrize("name,path", [
    ("runtime.main", "runtime"),
    ("net/http.(*Client).Do", "net/http"),
    ("main.main.func1", "main"),
    ("net/http.(*Transport).dialConn.func2", "net/http"),
    ("fmt.init.0", "fmt"),
    ("gopkg.in/yaml%2ev3.Unmarshal", "gopkg.in/yaml.v3"),
    ("slices.SortFunc[go.shape.[]uint8,go.shape.struct { Name string }]", "slices"),
    ("sync/atomic.(*Pointer[go.shape.struct { example.com/x.T }]).Load", "sync/atomic"),
    ("example.com/a/b.Map[go.shape.*example.com/c/d.T,go.shape.int].func1", "example.com/a/b"),
    ("vendor/golang.org/x/net/dns/dnsmessage.(*Parser).Start", "vendor/golang.org/x/net/dns/dnsmessage"),
    ("type:.eq.[2]interface {}", None),
    ("go:buildid", None),
    ("type..eq.fmt.fmt", None),
    ("_rt0_amd64_linux", None),
    ("x_cgo_init", None),
    ("_.goready.func1", None),
])
def test_package_of(name, path):
    """Names as the gc toolchain writes them (GOROOT src/cmd/internal/objabi/path.go PathToPrefix, debug/gosym)."""
    assert package_of(name) == path


def test_name_helpers():
    assert strip_instantiation("a.F[b.G[c.H]].func1") == "a.F.func1"
    assert strip_instantiation("a.F[b.G[c.H].func1") == "a.F"  # unbalanced: cut at the first bracket
    assert is_std("net/http") and is_std("vendor/golang.org/x/net/idna") and not is_std("example.com/x")
    assert not is_std("main")
    assert guess_module("github.com/spf13/cobra/doc") == "github.com/spf13/cobra"
    assert guess_module("github.com/a/b/v2/c") == "github.com/a/b/v2"
    assert guess_module("golang.org/x/net/http2") == "golang.org/x/net"
    assert guess_module("golang.org/y/z") is None
    assert guess_module("example.com/x/y") is None


def test_toolchain_binary_packages(factory):
    """A large real program: GOROOT's compile (trimpath, 20k functions) against `go list -deps cmd/compile`."""
    tc = factory.toolchain("1.27.3")
    out = subprocess.run([str(tc.go), "list", "-deps", "cmd/compile"], capture_output=True, text=True, check=True,
                         env=go_env(tc)).stdout
    deps = set(out.split())
    paths, names = _paths(tc.goroot / "pkg" / "tool" / "linux_amd64" / "compile")
    paths = {"cmd/compile" if p == "main" else p for p in paths}
    assert paths <= deps, sorted(paths - deps)
    assert {"cmd/compile/internal/ssa", "cmd/internal/obj", "runtime", "go/constant"} <= paths
    assert len(paths) > 0.8 * len(deps)


def _tables(binary):
    from depfree.analysis.gotables import GoTables

    src = FileSource(binary)
    tables = GoTables(open_executables(src)[0])
    assert tables.table_ok
    return src, tables


@pytest.mark.parametrize("program,cgo", [("nettool", True), ("withdeps", False)])
def test_name_questions_answer_as_the_name_set(factory, program, cgo):
    """The feature checks ask the raw name table (FunctionNames) and the function table's name offsets (is_linked)
    instead of building the sets; every answer must be the set's, on real binaries: prefixes, substrings and
    membership of every name in the table (sampled), names that are absent (with the prefixes one pass collects, too),
    and tail fragments of names."""
    from depfree.analysis.gotables import FEATURE_PACKAGE_PREFIXES, NAME_PREFIXES, FunctionNames

    src, fresh = _tables(factory.go(program, cgo=cgo))
    with src:
        names = fresh.name_search
        assert isinstance(names, FunctionNames)  # nothing built the set yet
        _src2, full = _tables(factory.go(program, cgo=cgo))
        with _src2:
            every, linked = full.all_names, full.linked_names
            assert every and linked <= every
            for prefixes in (FEATURE_PACKAGE_PREFIXES, ("runtime.",), ("main.",), ("no/such.",)):
                assert fresh.names_with_prefix(prefixes) == {n for n in every if n.startswith(prefixes)}
            for part in ("_Cfunc_", "_C2func_", "_goboringcrypto_", "Lookup", "func1"):
                assert fresh.names_containing(part) == {n for n in every if part in n}
            for parts in (("_Cfunc_", "_C2func_", "_goboringcrypto_"), ("Lookup", "func1", "okup"), ("no such",)):
                assert fresh.names_containing_any(parts) == {n for n in every if any(p in n for p in parts)}
            sample = sorted(every)[:: max(1, len(every) // 400)]
            tails = [n[3:] for n in sample if len(n) > 3]
            prefixed = [p + "no.such.function" for p in NAME_PREFIXES] + [n + "X" for n in sample]
            asked = [*sample, *tails, *prefixed, "no.such.function", "runtime.", "runtime.racecall"]
            for name in asked:
                assert (name in names) == (name in every) == fresh.has_name(name), name
                assert fresh.is_linked(name) == (name in linked), name
            assert fresh.__dict__["_offsets_at_starts"]  # the linker's names: every offset starts one
            fresh.__dict__["_offsets_at_starts"] = False  # the walk of every occurrence, tails too, answers alike
            for name in asked:
                assert fresh.is_linked(name) == (name in linked), name
            assert "linked_names" not in fresh.__dict__ and "all_names" not in fresh.__dict__


def _names(raw: bytes):  # type: ignore[no-untyped-def]
    """FunctionNames over ``raw`` where it lies inside a larger buffer, as a mapped file's table is read: names just
    outside it (``net.x``, ``net.y``) must never be seen, and offsets are the table's own."""
    from depfree.analysis.gotables import FunctionNames
    from depfree.formats.strings import Window

    return FunctionNames(Window(b"net.x\0" + raw + b"\0net.y", 6, 6 + len(raw)))


def test_function_names_edges():
    """The first and last names of a table (no NUL before or after them), empty names, prefixes of prefixes."""
    t = _names(b"net.a\0os/user.b\0x.net.c\0\0net.\0crypto/x509.z")
    assert t.with_prefix(("net.", "crypto/x509.", "os/user.")) == {"net.a", "net.", "os/user.b", "crypto/x509.z"}
    assert t.with_prefix(("x.",)) == {"x.net.c"}
    assert t.containing("net") == {"net.a", "x.net.c", "net."}
    assert t.containing_any(("net", "x509", "")) == {"net.a", "x.net.c", "net.", "crypto/x509.z"}
    assert _names(b"only").containing_any(("nl", "ly")) == {"only"} and t.containing_any(()) == set()
    assert "net.a" in t and "crypto/x509.z" in t and "net" not in t and "" not in t and "x509.z" not in t
    assert "net.x" not in t and "net.y" not in t and not t.containing(".y") and not t.with_prefix(("net.y",))
    assert _names(b"\0net.a\0").with_prefix(("net.",)) == {"net.a"}
    assert _names(b"only").containing("nl") == {"only"} and "only" in _names(b"only")


@pytest.mark.parametrize("program,cgo", [("nettool", True), ("withdeps", False)])
def test_source_dir_questions_answer_as_the_set(factory, program, cgo):
    """The feature checks ask whether a standard package's directory is a source directory through one text of the
    directories; every answer must be the set's (source_dirs): each of its runs, runs with a character more or
    less, every package of the binary, and paths with empty elements."""
    from depfree.golang.funcnames import package_paths_of

    src, fresh = _tables(factory.go(program, cgo=cgo))
    with src:
        _src2, full = _tables(factory.go(program, cgo=cgo))
        with _src2:
            dirs = full.source_dirs
            assert dirs and fresh.any_source_dir()
            asked = {*dirs, *(d + "x" for d in dirs), *(d[1:] for d in dirs), *package_paths_of(full.all_names),
                     "", "/", "a//b", "net/"}
            for path in sorted(asked):
                assert fresh.has_source_dir(path) == (path in dirs), path
            assert "source_dirs" not in fresh.__dict__


def test_where_with_prefix_edges():
    """Every whole name with a prefix and the offset it starts at: the first name (no NUL before it), the last (no
    NUL after it), a name twice (-1: searched for), a prefix inside a name (not a start)."""
    t = _names(b"net.a\0os/user.b\0x.net.c\0net.a\0\0net.\0crypto/x509.z")
    assert t.where_with_prefix(("net.", "crypto/x509.")) == {b"net.a": -1, b"net.": 31, b"crypto/x509.z": 36}
    assert t.where_with_prefix(("x.", "os/")) == {b"x.net.c": 16, b"os/user.b": 6} and t.where_with_prefix(("no.",)) == {}
    assert _names(b"net.a\0net.b").where_with_prefix(("net.",)) == {b"net.a": 0, b"net.b": 6}
    assert {k.decode() for k in t.where_with_prefix(("net.", "os/"))} == t.with_prefix(("net.", "os/"))


@pytest.mark.parametrize("program,cgo", [("nettool", True), ("nettool", False), ("withdeps", False)])
def test_cgo_signs_of_a_stripped_binary_are_the_sorted_sets(factory, program, cgo):
    """A stripped binary's cgo signs come from the name table's searches (no sorted list of every name): the same
    evidence as the first names in sorted order of the set, and the same count of names when there are none."""
    from depfree.analysis.golang import CGO_SYMBOLS, _cgo_from_pclntab
    from depfree.golang.funcnames import is_cgo_name
    from depfree.model import Go

    src, tables = _tables(factory.go(program, cgo=cgo, ldflags="-s -w"))
    with src:
        _src2, full = _tables(factory.go(program, cgo=cgo, ldflags="-s -w"))
        with _src2:
            names = sorted(full.all_names)
        tables.IN_PLACE = 0  # (the name table searched where the file is mapped, as a large one is)
        assert tables.name_count == len(names) and "all_names" not in tables.__dict__
        assert tables._names_raw.buf is src.view()
        assert tables.any_name_with_prefix("runtime.") and not tables.any_name_with_prefix("no.such.package.")
        hits = [n for n in names if n in CGO_SYMBOLS or n.startswith("runtime/cgo.")][:2]
        hits += [n for n in names if is_cgo_name(n) and n not in hits][: 3 - len(hits)]
        go = Go(version=None, source="buildinfo")
        ctx = Context(exe=tables.exe, binary=None, options=Options())  # type: ignore[arg-type]
        ctx.go = tables
        _cgo_from_pclntab(ctx, go)
        assert [e.name for e in go.cgo_evidence] == (hits or ["x_cgo_init"]) and go.cgo is bool(hits) is cgo
        if not hits:
            assert go.cgo_evidence[0].detail == f"absent from the {len(names)} pclntab function names"
        assert "all_names" not in tables.__dict__


def test_name_count_decodes_as_the_set():
    """Names that are not ASCII: UTF-8 (Go's middle dot), and bad bytes that decode alike (both U+FFFD), counted as
    the set of decoded names counts them; repeated names once."""
    from depfree.analysis.gotables import GoTables

    raw = b"a\xc2\xb7b\0a\xc2\xb7b\0x\xff\0x\xfe\0plain\0\0plain\0x?"
    tables = GoTables.__new__(GoTables)
    tables.__dict__.update(name_search=_names(raw), _names_raw=_names(raw).raw)
    assert tables.name_count == len({p.decode("utf-8", "replace") for p in raw.split(b"\0") if p}) == 4
