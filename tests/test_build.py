"""`depfree build` and `depfree diff` on tests/programs/go/shipit, built for real in every variant.

The matrix (binaries kept, JSON report) is a cached fixture keyed by the program, the toolchain, the variant table and
depfree's build code, so a warm run re-uses it and any change to the code rebuilds it. Every cell is checked against
an independent oracle: the file itself (size, sha256), readelf (-h, -l, -d, -V, -S), `go version -m`, and a real run
in an empty root made with unshare + chroot (not depfree's sandbox).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import depfree
from depfree.build.matrix import run_matrix, variants_for
from depfree.build.reproduce import reproduce
from depfree.build.runner import build_variant, toolchain_for
from depfree.build.variants import builtin, parse, resolve
from depfree.cli.main import cli
from depfree.errors import DepfreeError, UsageError
from depfree.toolchains import go_env
from helpers.factory import GO_PROGRAMS
from helpers.schema import assert_valid_report
from helpers.truth import go_version_m, readelf

PROGRAM = GO_PROGRAMS / "shipit"
# The cached matrix holds depfree's own analysis of each binary: any change to depfree's code or data rebuilds it.
BUILD_CODE = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(Path(depfree.__file__).parent.rglob("*"))
                                     if p.suffix in (".py", ".toml", ".json") and p.is_file())).hexdigest()
VARIANTS_TOML = Path(depfree.build.__file__).parent.parent / "data" / "variants.toml"
TARGETS = ["scratch", "centos-7"]


def _matrix(factory: Any, go: str, variants: list[str] | None) -> tuple[dict[str, Any], Path]:
    tc = factory.toolchain(go)
    for tool in ("gcc", "musl-gcc"):
        factory.require(tool)

    def build(out: Path) -> None:
        m = run_matrix(PROGRAM, tc, variants=variants_for(variants), targets=TARGETS, keep=str(out / "bin"),
                       runs=3)
        (out / "matrix.json").write_text(json.dumps({"built_in": str(out), "matrix": m.to_json()}))

    out = factory.cached(("build-matrix", PROGRAM, go, tc.release, variants, VARIANTS_TOML.read_text(), BUILD_CODE,
                          TARGETS), build, name="matrix")
    doc = json.loads((out / "matrix.json").read_text())
    for v in doc["matrix"]["variants"]:  # the fixture was built in a temporary directory, then renamed
        if v["build"]["path"]:
            v["build"]["path"] = v["build"]["path"].replace(doc["built_in"], str(out), 1)
    return doc["matrix"], out / "bin"


@pytest.fixture(scope="module")
def matrix(factory: Any) -> tuple[dict[str, Any], Path]:
    return _matrix(factory, "1.27.3", None)


def _variants(m: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["variant"]["name"]: v for v in m["variants"]}


def _built(m: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in _variants(m).items() if v["build"]["status"] == "built"}


def _empty_root(binary: str, tmp: Path) -> Path:
    root = tmp / "root"
    root.mkdir(parents=True)
    shutil.copy(binary, root / "app")
    return root


def empty_root_run(binary: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    """The oracle run: the binary alone in an empty directory made the root (user + mount namespace, chroot)."""
    return subprocess.run(["unshare", "-r", "-n", "chroot", str(_empty_root(binary, tmp)), "/app"],
                          capture_output=True, text=True, timeout=60, check=False)


def test_every_variant_of_the_table_is_built(matrix: tuple[dict[str, Any], Path]) -> None:
    m, _ = matrix
    assert_valid_report(m, "build.schema.json")
    assert list(_variants(m)) == list(builtin())
    assert set(_built(m)) == set(builtin()), {k: v["build"]["reason"] for k, v in _variants(m).items()}
    assert m["schema"] == "depfree.build/1" and m["go"] == "go1.27.3"


def test_size_and_sha256_are_the_files(matrix: tuple[dict[str, Any], Path]) -> None:
    m, _ = matrix
    for name, v in _built(m).items():
        path = v["build"]["path"]
        data = Path(path).read_bytes()
        assert v["facts"]["size"] == len(data), name
        assert v["facts"]["sha256"] == hashlib.sha256(data).hexdigest(), name
        assert sum(p["size"] for p in v["facts"]["size_by_module"]) == len(data), name


def _readelf_sections(path: str) -> dict[str, int]:
    out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True, check=True).stdout
    secs = {}
    for m in re.finditer(r"^\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)", out, re.M):
        secs[m.group(1)] = 0 if m.group(2) == "NOBITS" else int(m.group(4), 16)
    return secs


def test_size_by_module_metadata_agrees_with_readelf_sections(matrix: tuple[dict[str, Any], Path]) -> None:
    m, _ = matrix
    for name, v in _built(m).items():
        secs = _readelf_sections(v["build"]["path"])
        mods = {p["name"]: p["size"] for p in v["facts"]["size_by_module"]}
        assert mods["pclntab"] == secs[".gopclntab"], name
        assert mods.get("DWARF", 0) == sum(n for s, n in secs.items() if s.startswith((".debug_", ".zdebug_"))), name
        assert mods.get("symtab", 0) == secs.get(".symtab", 0) + secs.get(".strtab", 0), name
        assert mods["std"] > 0, name


def test_section_digests_are_readelfs_sections_and_left_out_for_the_matrix(
        matrix: tuple[dict[str, Any], Path]) -> None:
    from depfree.build.facts import facts_of

    m, _ = matrix
    path = _built(m)["cgo-off"]["build"]["path"]
    out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True, check=True).stdout
    truth = {}  # name -> (offset, bytes in the file), from readelf
    for mm in re.finditer(r"^\s*\[\s*\d+\]\s+(\.\S+)\s+(\S+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)", out, re.M):
        truth[mm.group(1)] = (int(mm.group(3), 16), 0 if mm.group(2) == "NOBITS" else int(mm.group(4), 16))
    data = Path(path).read_bytes()
    full = facts_of(path)
    assert {s.name: s.size for s in full.sections} == {k: n for k, (_off, n) in truth.items()}
    for s in full.sections:  # the digest of the section's bytes at readelf's offset
        off = truth[s.name][0]
        assert s.sha256 == hashlib.sha256(data[off:off + s.size]).hexdigest(), s.name
    lean = facts_of(path, digests=False)
    assert lean.sections == [] and lean.to_json() == full.to_json()


def test_target_verdicts_follow_readelf(matrix: tuple[dict[str, Any], Path]) -> None:
    m, _ = matrix
    for name, v in _built(m).items():
        truth = readelf(v["build"]["path"])
        t = {x["target"]: x for x in v["targets"]}
        assert (t["scratch"]["verdict"] == "fail") == bool(truth.interpreter), name
        too_new = truth.min_glibc is not None and tuple(map(int, truth.min_glibc.split("."))) > (2, 17)
        assert (t["centos-7"]["verdict"] == "fail") == too_new, name
        assert t["scratch"]["root"] == "scratch" and t["centos-7"]["root"] == "glibc"


def test_linkage_interpreter_and_needed_agree_with_readelf(matrix: tuple[dict[str, Any], Path]) -> None:
    m, _ = matrix
    for name, v in _built(m).items():
        truth = readelf(v["build"]["path"])
        link = v["facts"]["linkage"]
        assert link["interpreter"] == truth.interpreter, name
        assert sorted(link["needed"]) == sorted(truth.needed), name
        assert link["min_glibc"] == truth.min_glibc, name
        assert (link["kind"] == "dynamic") == bool(truth.interpreter or truth.needed), name
        if truth.min_glibc:  # the symbols named are bound at that version per readelf --dyn-syms
            at = {s for s, ver in truth.dynsym_versions.items() if ver == f"GLIBC_{truth.min_glibc}"}
            assert link["min_glibc_symbols"] and set(link["min_glibc_symbols"]) <= at, name


def test_glibc_217_variant_needs_nothing_newer_than_217(matrix: tuple[dict[str, Any], Path]) -> None:
    m, _ = matrix
    v = _built(m)["glibc-2.17"]
    ver = subprocess.run(["readelf", "-VW", v["build"]["path"]], capture_output=True, text=True, check=True).stdout
    glibc = [tuple(int(x) for x in g.split(".")) for g in re.findall(r"Name: GLIBC_(\d+(?:\.\d+)+)", ver)]
    assert glibc and max(glibc) <= (2, 17)
    assert v["facts"]["go"]["cgo"] is True and "libc.so.6" in v["facts"]["linkage"]["needed"]
    centos = next(t for t in v["targets"] if t["target"] == "centos-7")
    assert centos["verdict"] != "fail" and centos["passes"]
    default = next(t for t in _built(m)["default"]["targets"] if t["target"] == "centos-7")
    assert default["verdict"] == "fail" and not default["passes"]  # the host's gcc binds newer symbols


def test_go_settings_agree_with_go_version_m(matrix: tuple[dict[str, Any], Path], factory: Any) -> None:
    m, _ = matrix
    gobin = factory.gobin("1.27.3")
    for name, v in _built(m).items():
        truth = go_version_m(gobin, v["build"]["path"])
        assert truth is not None, name
        assert v["facts"]["go"]["settings"] == truth.settings, name
        assert v["facts"]["go"]["cgo_enabled"] == (truth.settings["CGO_ENABLED"] == "1"), name
        # cgo proper: C code linked in. readelf: runtime/cgo's C entry points, or a C library to load.
        syms = subprocess.run(["readelf", "-sW", v["build"]["path"]], capture_output=True, text=True,
                              check=True).stdout
        c_linked = "x_cgo_init" in syms or bool(readelf(v["build"]["path"]).needed)
        assert v["facts"]["go"]["cgo"] == c_linked, name
        var = resolve(name)
        assert truth.settings["CGO_ENABLED"] == ("1" if var.cgo else "0"), name
        assert (truth.settings.get("-trimpath") == "true") == var.trimpath, name
        assert truth.settings.get("-tags", "") == ",".join(var.tags), name
        assert truth.settings.get("-buildmode") == (var.buildmode or "exe"), name
        assert truth.settings.get("-ldflags", "") == " ".join(var.ldflags), name
        assert truth.settings.get("GOAMD64") == dict(var.env).get("GOAMD64", "v1"), name


def test_hardening_and_stripping_agree_with_readelf(matrix: tuple[dict[str, Any], Path]) -> None:
    m, _ = matrix
    for name, v in _built(m).items():
        path = v["build"]["path"]
        truth = readelf(path)
        h = v["facts"]["hardening"]
        assert h["pie"] == (truth.elf_type.startswith("DYN")), name
        segs = subprocess.run(["readelf", "-lW", path], capture_output=True, text=True, check=True).stdout
        dyn = subprocess.run(["readelf", "-dW", path], capture_output=True, text=True, check=True).stdout
        stack = re.search(r"GNU_STACK(?:\s+\S+){5}\s+(\S+)", segs)
        assert h["nx"] == (stack is not None and "E" not in stack.group(1)), name
        bind_now = "BIND_NOW" in dyn or bool(re.search(r"FLAGS_1.*NOW", dyn))
        if "GNU_RELRO" not in segs:
            assert h["relro"] in ("none", "n/a"), name
        else:
            assert h["relro"] == ("full" if bind_now else "partial"), name
        secs = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True, check=True).stdout
        has_symtab = " .symtab " in secs
        assert ("not stripped" in v["facts"]["debug"]) == (has_symtab or ".debug_" in secs), name
    assert _built(m)["pie"]["facts"]["type"] == "pie"
    assert "stripped" in _built(m)["stripped"]["facts"]["debug"]


def test_sandbox_runs_agree_with_real_runs(matrix: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    """Every variant in every root: the empty and CA-only roots against a run in an empty chroot, the musl root
    (a musl loader, no glibc) against readelf's interpreter, the glibc root against a run on this glibc host."""
    m, _ = matrix
    built = _built(m)
    for i, (name, v) in enumerate(built.items()):
        path = v["build"]["path"]
        truth = empty_root_run(path, tmp_path / str(i))
        host = subprocess.run(["unshare", "-r", "-n", path], capture_output=True, text=True, timeout=60, check=False)
        runs = {r["root"]: r for r in v["runs"]}
        assert list(runs) == ["scratch", "scratch+certs", "musl", "glibc"], name
        for root in ("scratch", "scratch+certs"):
            assert runs[root]["started"] == (truth.returncode == 0), (name, root, truth.stderr)
        if truth.returncode == 0:
            assert runs["scratch"]["stdout"] == truth.stdout and runs["scratch"]["exit_code"] == 0, name
        assert runs["musl"]["started"] == (readelf(path).interpreter is None), name
        assert host.returncode == 0 and runs["glibc"]["started"] and runs["glibc"]["exit_code"] == 0, name
        assert "certs: true" in runs["scratch+certs"]["stdout"] or not truth.returncode == 0, name
        assert "certs: false" in runs["scratch"]["stdout"] or not truth.returncode == 0, name
    assert built["cgo-off"]["runs"][0]["started"] and built["musl-static"]["runs"][0]["started"]
    assert not built["default"]["runs"][0]["started"]
    assert built["default"]["runs"][0]["failure"] == "interpreter-missing"
    assert readelf(built["default"]["build"]["path"]).interpreter in built["default"]["runs"][0]["missing"]
    glibc = {r["root"]: r for r in built["default"]["runs"]}["glibc"]
    assert glibc["started"] and glibc["exit_code"] == 0 and "localhost:" in glibc["stdout"]


def test_timing_and_peak_rss(matrix: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    m, _ = matrix
    v = _built(m)["cgo-off"]
    t = v["timing"]
    assert t["root"] == "scratch" and t["runs"] == 3 and t["min"] <= t["median"] <= t["max"]
    assert t["clock"] == "sandbox" and m["sandbox_floor"]["clock"] == "sandbox"  # date in the sandbox, in nanoseconds
    # GNU time on the same binary in an empty root: the program's own peak. The sandbox's figure is the largest of
    # the program and the sandbox's shell helpers, so it is at least the program's and not far above it.
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(v["build"]["path"], root / "app")
    out = subprocess.run(["/usr/bin/time", "-f", "%M", "unshare", "-r", "-n", "chroot", str(root), "/app"],
                         capture_output=True, text=True, check=True)
    own = int(out.stderr.strip().splitlines()[-1])
    assert own * 0.7 <= t["peak_rss_kb"] <= own * 1.5 + 4096, (own, t["peak_rss_kb"])
    assert v["seconds"]["build"] > 0 and v["seconds"]["analysis"] > 0 and v["seconds"]["runs"] > 0


def test_recommendation_for_scratch_and_centos7_passes_both(matrix: tuple[dict[str, Any], Path],
                                                            tmp_path: Path) -> None:
    m, _ = matrix
    rec = m["recommendation"]
    assert rec["variant"] and rec["targets"] == TARGETS
    v = _built(m)[rec["variant"]]
    path = v["build"]["path"]
    truth = readelf(path)
    assert truth.interpreter is None and not truth.needed  # nothing the empty root lacks
    assert truth.min_glibc is None or tuple(map(int, truth.min_glibc.split("."))) <= (2, 17)
    assert empty_root_run(path, tmp_path).returncode == 0
    # the smallest of the variants that pass: every smaller built variant needs an interpreter (readelf says so)
    for name, other in _built(m).items():
        if other["facts"]["size"] < v["facts"]["size"]:
            assert readelf(other["build"]["path"]).interpreter, name
    assert rec["command"].startswith("CGO_ENABLED=") and " go build " in f" {rec['command']}"
    assert rec["proven_on"] == TARGETS and rec["static_only"] == []
    assert "glibc 2.17 is judged from the symbol versions" in rec["why"]  # the host's glibc is newer than 2.17
    rejected = {r["variant"]: r["why"] for r in rec["rejected"]}
    assert "interpreter" in rejected["default"] and "GLIBC_2." in rejected["default"]


def test_a_combination_builds_what_it_names(factory: Any, tmp_path: Path) -> None:
    tc = factory.toolchain("1.27.3")
    v = resolve("cgo-off+stripped+trimpath")
    res = build_variant(v, tc, PROGRAM, ".", tmp_path / "app")
    assert res.status == "built", res.reason
    truth = go_version_m(factory.gobin("1.27.3"), res.path)
    assert truth is not None and truth.settings["CGO_ENABLED"] == "0" and truth.settings["-trimpath"] == "true"
    assert "-ldflags" not in truth.settings  # go leaves -ldflags out of the build info under -trimpath (go.dev/issue/52372)
    secs = subprocess.run(["readelf", "-SW", res.path], capture_output=True, text=True, check=True).stdout
    assert ".symtab" not in secs and ".debug_info" not in secs and not readelf(res.path).interpreter


def test_absent_compiler_is_skipped_with_the_install_hint(factory: Any, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    tc = factory.toolchain("1.27.3")
    monkeypatch.setenv("PATH", str(tmp_path))  # no musl-gcc, no gcc
    res = build_variant(resolve("musl-static"), tc, PROGRAM, ".", tmp_path / "app")
    assert res.status == "skipped" and "musl-gcc is not installed: apt-get install musl-tools" == res.reason
    assert not (tmp_path / "app").exists()


def test_absent_ziglang_is_skipped_with_the_install_hint(factory: Any, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    tc = factory.toolchain("1.27.3")
    monkeypatch.setitem(sys.modules, "ziglang", None)  # how Python marks a module as not importable
    res = build_variant(resolve("glibc-2.17"), tc, PROGRAM, ".", tmp_path / "app")
    assert res.status == "skipped" and res.reason.endswith(": pip install ziglang")
    m = run_matrix(PROGRAM, tc, variants=[resolve("glibc-2.17")], targets=["centos-7"], sandbox=False)
    assert m.results[0].build.status == "skipped" and m.recommendation is not None
    assert m.recommendation.variant is None and m.recommendation.rejected[0].why.startswith("skipped: ")


@pytest.mark.parametrize("go", ["1.21.13", "debian-1.19"])
def test_older_toolchains_default_and_cgo_off(factory: Any, go: str, tmp_path: Path) -> None:
    m, _ = _matrix(factory, go, ["default", "cgo-off"])
    built = _built(m)
    assert set(built) == {"default", "cgo-off"}
    gobin = factory.gobin(go)
    for i, (name, v) in enumerate(built.items()):
        truth = go_version_m(gobin, v["build"]["path"])
        assert truth is not None and v["facts"]["go"]["version"] == truth.go_version
        assert v["facts"]["go"]["cgo_enabled"] == (truth.settings.get("CGO_ENABLED") == "1")
        assert v["facts"]["linkage"]["interpreter"] == readelf(v["build"]["path"]).interpreter
        real = empty_root_run(v["build"]["path"], tmp_path / str(i))
        assert v["runs"][0]["started"] == (real.returncode == 0) == (name == "cgo-off")
    assert m["recommendation"]["variant"] == "cgo-off"


# -- reproducibility ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reproductions(factory: Any) -> dict[str, dict[str, Any]]:
    tc = factory.toolchain("1.27.3")

    def build(out: Path) -> None:
        out.mkdir()
        result = {}
        for name in ("cgo-off+trimpath", "cgo-off"):
            rep = reproduce(resolve(name), tc, PROGRAM, ".", workdir=out / name)
            result[name] = rep.to_json()
        (out / "reproductions.json").write_text(json.dumps({"built_in": str(out), "reps": result}))

    out = factory.cached(("build-reproduce", PROGRAM, tc.release, VARIANTS_TOML.read_text(), BUILD_CODE), build,
                         name="repro")
    doc = json.loads((out / "reproductions.json").read_text())
    for rep in doc["reps"].values():
        for b in rep["builds"]:
            b["path"] = b["path"].replace(doc["built_in"], str(out), 1)
    return doc["reps"]


def test_trimpath_builds_are_identical(reproductions: dict[str, dict[str, Any]]) -> None:
    rep = reproductions["cgo-off+trimpath"]
    a, b = (x["path"] for x in rep["builds"])
    assert Path(a).read_bytes() == Path(b).read_bytes()  # the oracle: the bytes
    assert rep["identical"] is True and rep["causes"][0]["code"] == "identical"
    assert rep["dirs"][0] != rep["dirs"][1]


def test_without_trimpath_the_embedded_path_is_named(reproductions: dict[str, dict[str, Any]]) -> None:
    rep = reproductions["cgo-off"]
    (a, b), (dir_a, dir_b) = (x["path"] for x in rep["builds"]), rep["dirs"]
    data_a, data_b = Path(a).read_bytes(), Path(b).read_bytes()
    assert data_a != data_b and rep["identical"] is False
    assert dir_a.encode() in data_a and dir_b.encode() in data_b and dir_a.encode() not in data_b
    cause = next(c for c in rep["causes"] if c["code"] == "embedded-paths")
    assert dir_a in cause["message"] and dir_b in cause["message"] and "-trimpath" in cause["message"]
    # the sections named do hold the path: readelf -p (with -z, inflating compressed DWARF) prints it
    for name in cause["sections"]:
        out = subprocess.run(["readelf", "-zW", "-p", name, a], capture_output=True, text=True, errors="replace",
                             check=True).stdout
        assert dir_a in out, name
    assert ".gopclntab" in cause["sections"]


# -- depfree diff ------------------------------------------------------------------------------------------------

def test_diff_cli_of_two_variants(matrix: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    m, _ = matrix
    built = _built(m)
    a, b = built["default"]["build"]["path"], built["cgo-off"]["build"]["path"]
    res = CliRunner().invoke(cli, ["diff", a, b, "--json"])
    assert res.exit_code == 1, res.output
    d = json.loads(res.output)
    assert_valid_report(d, "diff.schema.json")
    assert d["schema"] == "depfree.diff/1" and d["identical"] is False
    ra, rb = readelf(a), readelf(b)
    assert d["facts"]["needed"] == {"only_a": sorted(set(ra.needed) - set(rb.needed)), "only_b": []}
    assert d["facts"]["interpreter"] == {"a": ra.interpreter, "b": None}
    assert d["facts"]["settings"]["CGO_ENABLED"] == {"a": "1", "b": "0"}
    assert any(c["code"] == "build-settings" and "CGO_ENABLED" in c["message"] for c in d["causes"])
    out = tmp_path / "d.txt"
    res = CliRunner().invoke(cli, ["diff", a, a, "-o", str(out)])
    assert res.exit_code == 0 and "identical" in out.read_text()


@pytest.mark.parametrize("args, message", [
    (["diff", "/nonexistent-a", "/nonexistent-b"], "/nonexistent-a"),
    (["diff", str(PROGRAM), str(PROGRAM)], "expected a binary, found a directory"),
    (["diff", str(PROGRAM / "main.go"), str(PROGRAM / "main.go")], "main.go"),
])
def test_diff_bad_input(args: list[str], message: str) -> None:
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output


# -- the CLI -----------------------------------------------------------------------------------------------------

def test_build_cli_json_and_exit_codes(factory: Any, tmp_path: Path) -> None:
    factory.toolchain("1.27.3")
    out = tmp_path / "m.json"
    res = CliRunner().invoke(cli, ["build", str(PROGRAM), "-V", "cgo-off+trimpath", "-t", "scratch", "--no-run",
                                   "--go", "1.27.3", "--reproducible", "--format", "json", "-o", str(out)])
    assert res.exit_code == 0, res.output
    m = json.loads(out.read_text())
    assert_valid_report(m, "build.schema.json")
    assert m["reproducibility"][0]["identical"] is True
    assert m["sandbox"] == "off" and m["recommendation"]["variant"] == "cgo-off+trimpath"
    assert m["variants"][0]["build"]["path"] is None  # not kept
    assert m["variants"][0]["targets"][0]["run"] == "not run"
    res = CliRunner().invoke(cli, ["build", str(PROGRAM), "-V", "cgo-off", "-t", "windows-10", "--no-run"])
    assert res.exit_code == 1, res.output
    assert "no variant passes windows-10" in res.output


@pytest.mark.parametrize("args, message", [
    (["build", "/nonexistent-dir"], "expected a Go module directory, found nothing"),
    (["build", str(GO_PROGRAMS)], "found no go.mod"),
    (["build", str(PROGRAM), "-V", "nope"], "unknown variant 'nope'"),
    (["build", str(PROGRAM), "-V", "cgo-off+musl-static"], "cannot combine cgo-off and musl-static"),
    (["build", str(PROGRAM), "-V", "pie+pie"], "names the same variant twice"),
    (["build", str(PROGRAM), "--pkg", "./cmd/none"], "--pkg ./cmd/none: expected a directory"),
    (["build", str(PROGRAM), "--go", "/nonexistent-goroot"], "--go /nonexistent-goroot: expected a GOROOT"),
    (["build", str(PROGRAM), "--go", "0.0.1-nope"], "unknown Go toolchain"),
    (["build", str(PROGRAM), "--env", "NOEQUALS"], "--env: expected K=V"),
    (["build", str(PROGRAM), "--run", "'unclosed"], "--run: expected shell-quoted arguments"),
    (["build", str(PROGRAM), "-t", "no-such-target", "--no-run"], "no-such-target"),
])
def test_build_bad_input(args: list[str], message: str) -> None:
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output


def test_help_has_examples() -> None:
    for verb in ("build", "diff"):
        res = CliRunner().invoke(cli, [verb, "--help"])
        assert res.exit_code == 0 and "Examples:" in res.output and f"depfree {verb} " in res.output


# -- the variant table -------------------------------------------------------------------------------------------

def test_builtin_variants_cite_sources() -> None:
    for v in builtin().values():
        assert v.description and v.source.startswith("https://"), v.name
    assert {"default", "cgo-off", "stripped", "trimpath", "netgo", "musl-static", "pie", "goamd64-v3",
            "glibc-2.17"} <= set(builtin())


@pytest.mark.parametrize("doc, message", [
    ({"cgo-off": {"description": "d", "source": "s"}}, "expected a [default] variant"),
    ({"default": {"description": "d"}}, "is missing source"),
    ({"default": {"description": "d", "source": "s", "colour": "red"}}, "unknown key 'colour'"),
    ({"default": {"description": "d", "source": "s", "cgo": "yes"}}, "'cgo' must be a bool"),
    ({"default": {"description": "d", "source": "s", "tags": ["a", 1]}}, "list of non-empty strings"),
    ({"default": {"description": "d", "source": "s", "env": {"CGO_ENABLED": "0"}}}, "env may not set CGO_ENABLED"),
    ({"default": {"description": "d", "source": "s", "cc": "zig:"}}, "names no Zig target"),
    ({"default": "x"}, "must be a table"),
])
def test_variant_table_is_validated(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        parse(doc, "test.toml")


def test_combinations_merge_flags() -> None:
    v = resolve("cgo-off+stripped+trimpath")
    assert (v.cgo, v.ldflags, v.trimpath, v.cc) == (False, ("-s", "-w"), True, "")
    assert v.command_line(".", "app") == "CGO_ENABLED=0 go build -trimpath '-ldflags=-s -w' -o app ."
    v = resolve("musl-static+stripped")
    assert v.ldflags == ("-linkmode", "external", "-extldflags", "-static", "-s", "-w") and v.cc == "musl-gcc"
    with pytest.raises(UsageError, match="cannot combine musl-static and glibc-2.17"):
        resolve("musl-static+glibc-2.17")


def test_toolchain_by_path(factory: Any) -> None:
    tc = factory.toolchain("1.27.3")
    assert toolchain_for(str(tc.go)).goroot == tc.goroot == toolchain_for(str(tc.goroot)).goroot
    with pytest.raises(DepfreeError, match="no bin/go in it"):
        toolchain_for(str(PROGRAM))
    assert os.path.isfile(toolchain_for(str(tc.goroot)).go)


# -- failure paths -----------------------------------------------------------------------------------------------

def test_a_failing_build_is_reported_not_raised(factory: Any, tmp_path: Path) -> None:
    mod = tmp_path / "broken"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/broken\n\ngo 1.19\n")
    (mod / "main.go").write_text("package main\n\nfunc main() { undefinedCall() }\n")
    factory.toolchain("1.27.3")
    res = CliRunner().invoke(cli, ["build", str(mod), "-V", "cgo-off", "-t", "scratch", "--go", "1.27.3", "--json"])
    assert res.exit_code == 1, res.output
    m = json.loads(res.output)
    v = m["variants"][0]
    assert v["build"]["status"] == "failed" and "undefined: undefinedCall" in v["build"]["reason"]
    assert m["recommendation"]["variant"] is None
    assert m["recommendation"]["rejected"][0]["why"].startswith("failed: ")


def test_no_sandbox_on_this_machine_leaves_facts_only_verdicts(factory: Any, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    tc = factory.toolchain("1.27.3")
    monkeypatch.setenv("PATH", str(tmp_path))  # no unshare: the sandbox cannot be built; a cgo-off build needs no tool
    m = run_matrix(PROGRAM, tc, variants=[resolve("cgo-off")], targets=["scratch"])
    assert m.sandbox.startswith("unavailable: depfree verify needs unshare")
    r = m.results[0]
    assert r.build.status == "built" and r.runs == [] and r.timing is None
    assert r.targets[0].run == "not run" and r.targets[0].passes  # the judge's ✓ (warn) stands, unproven
    assert m.recommendation and m.recommendation.static_only == ["scratch"] and not m.recommendation.proven_on


def test_run_arguments_reach_every_run(factory: Any, tmp_path: Path) -> None:
    """`-- -fail`: shipit exits 1 without a CA bundle, so the empty root fails scratch and the CA-only root (standing
    for distroless-static, which has the bundle) passes; the oracle is the same binary run by hand."""
    factory.toolchain("1.27.3")
    res = CliRunner().invoke(cli, ["build", str(PROGRAM), "-V", "cgo-off", "-t", "scratch", "-t", "distroless-static",
                                   "--runs", "1", "--keep", str(tmp_path / "out"), "--json", "--", "-fail"])
    assert res.exit_code == 1, res.output
    m = json.loads(res.output)
    assert m["run_args"] == ["-fail"]
    v = m["variants"][0]
    real = subprocess.run(["unshare", "-r", "-n", "chroot", str(_empty_root(v["build"]["path"], tmp_path)), "/app",
                           "-fail"], capture_output=True, text=True, check=False)
    runs = {r["root"]: r for r in v["runs"]}
    assert real.returncode == 1 == runs["scratch"]["exit_code"] and not runs["scratch"]["passed"]
    assert runs["scratch+certs"]["exit_code"] == 0 and "certs: true" in runs["scratch+certs"]["stdout"]
    t = {x["target"]: x for x in v["targets"]}
    assert t["scratch"]["run"] == "failed: nonzero-exit (exit 1)" and not t["scratch"]["passes"]
    assert t["distroless-static"]["root"] == "scratch+certs" and t["distroless-static"]["passes"]
    assert "scratch: sandbox scratch run failed: nonzero-exit (exit 1)" in m["recommendation"]["rejected"][0]["why"]


def test_diff_names_module_dependencies(factory: Any) -> None:
    a, b = factory.go("plain"), factory.go("withdeps")
    res = CliRunner().invoke(cli, ["diff", str(a), str(b), "--json"])
    assert res.exit_code == 1, res.output
    d = json.loads(res.output)
    truth_a, truth_b = go_version_m(factory.gobin(), a), go_version_m(factory.gobin(), b)
    assert truth_a is not None and truth_b is not None
    deps_b = {dep[0]: dep[1] for dep in truth_b.deps}
    assert deps_b and d["facts"]["deps"] == {k: {"a": None, "b": v} for k, v in sorted(deps_b.items())}
    assert any(c["code"] == "dependencies" and "example.com/greeter" in c["message"] for c in d["causes"])
    assert sum(m["delta"] for m in d["size_by_module"]) == os.path.getsize(b) - os.path.getsize(a)


def test_diff_explains_vcs_stamping(factory: Any, tmp_path: Path) -> None:
    """Two builds of two commits with -buildvcs=true: the diff names vcs.revision, as `git rev-parse` gives it."""
    tc = factory.toolchain("1.27.3")
    repo = tmp_path / "shipit"
    shutil.copytree(PROGRAM, repo)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    revs, bins = [], []
    subprocess.run([*git, "init", "-q"], check=True)
    for i in range(2):
        (repo / "NOTES").write_text(f"build {i}\n")
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", f"commit {i}"], check=True)
        revs.append(subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                                   check=True).stdout.strip())
        res = build_variant(resolve("cgo-off+trimpath"), tc, repo, ".", tmp_path / f"out{i}" / "app",
                            extra_env={"GOFLAGS": "-mod=mod -buildvcs=true"})
        assert res.status == "built", res.reason
        bins.append(res.path)
    for rev, b in zip(revs, bins, strict=True):
        truth = go_version_m(factory.gobin("1.27.3"), b)
        assert truth is not None and truth.settings["vcs.revision"] == rev
    res = CliRunner().invoke(cli, ["diff", *bins, "--json"])
    assert res.exit_code == 1, res.output
    d = json.loads(res.output)
    assert d["facts"]["settings"]["vcs.revision"] == {"a": revs[0], "b": revs[1]}
    cause = next(c for c in d["causes"] if c["code"] == "vcs-stamping")
    assert revs[0] in cause["message"] and revs[1] in cause["message"] and "-buildvcs=false" in cause["message"]
    assert not any(c["code"] == "embedded-paths" for c in d["causes"])  # -trimpath: the same paths


OLD_CC = """#!/bin/sh
# gcc as a C compiler without -fdebug-prefix-map would be: go's flag mapping $WORK away is dropped
for a in "$@"; do
  shift
  case "$a" in -fdebug-prefix-map=*|-ffile-prefix-map=*) ;; *) set -- "$@" "$a" ;; esac
done
exec gcc "$@"
"""
CGO_MAIN = """package main

/*
int twice(int x) { return 2 * x; }
*/
import "C"

import "fmt"

func main() { fmt.Println(C.twice(21)) }
"""


def _readelf_work_dirs(path: str) -> set[str]:
    found: set[str] = set()
    for sec in (".debug_str", ".debug_line_str", ".debug_line"):
        out = subprocess.run(["readelf", "-zW", "-p", sec, path], capture_output=True, text=True, errors="replace",
                             check=False).stdout
        found.update(re.findall(r"/tmp/go-build\d+", out))
    return found


def test_reproducibility_names_cgo_work_dirs(factory: Any, tmp_path: Path) -> None:
    """A C compiler that ignores go's -fdebug-prefix-map leaves $WORK (/tmp/go-buildNNN) in the C objects' DWARF;
    the two builds (two GOCACHEs, each keeping its own first $WORK) then differ by it, -trimpath or not."""
    tc = factory.toolchain("1.27.3")
    factory.require("gcc")

    def write_cc(out: Path) -> None:
        out.write_text(OLD_CC)
        out.chmod(0o755)

    cc = factory.cached(("old-cc", OLD_CC), write_cc, name="oldcc")
    mod = tmp_path / "cgowork"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/cgowork\n\ngo 1.19\n")
    (mod / "main.go").write_text(CGO_MAIN)
    rep = reproduce(resolve("trimpath"), tc, mod, ".", workdir=tmp_path / "w", extra_env={"CC": str(cc)})
    assert rep.identical is False and rep.diff is not None
    a, b = (x.path for x in rep.builds)
    wa, wb = _readelf_work_dirs(a), _readelf_work_dirs(b)
    assert wa and wb and wa != wb
    cause = next(c for c in rep.diff.causes if c.code == "cgo-work-dir")
    assert all(w in cause.message for w in wa | wb), cause.message
    assert set(cause.sections) <= {s["name"] for s in rep.diff.sections} and any(
        s.startswith(".debug_") for s in cause.sections)
    # (that compiler also drops -trimpath's source-directory map: on a cold cache the two build directories are in
    # the C objects too, and then named as well — checked against the bytes by the embedded-paths test above)


def test_diff_explains_a_build_id_set_by_hand(factory: Any, tmp_path: Path) -> None:
    import dataclasses

    tc = factory.toolchain("1.27.3")
    base = resolve("cgo-off+trimpath")
    bins = []
    for i, bid in enumerate(("release-one", "release-two")):
        v = dataclasses.replace(base, ldflags=(f"-buildid={bid}",))
        res = build_variant(v, tc, PROGRAM, ".", tmp_path / str(i) / "app")
        assert res.status == "built", res.reason
        bins.append(res.path)
        env = go_env(tc)  # `go tool buildid` may have to build the tool: with the shared GOCACHE, once
        assert subprocess.run([str(tc.go), "tool", "buildid", res.path], capture_output=True, text=True, env=env,
                              check=True).stdout.strip() == bid
    d = json.loads(CliRunner().invoke(cli, ["diff", *bins, "--json"]).output)
    assert d["facts"]["go_build_id"] == {"a": "release-one", "b": "release-two"}
    cause = next(c for c in d["causes"] if c["code"] == "build-id")
    assert "set by hand with -ldflags=-buildid" in cause["message"] and "'release-two'" in cause["message"]
    assert {s["name"] for s in d["sections"]} <= {".note.go.buildid", ".note.gnu.build-id"}


def test_a_main_package_below_the_module(factory: Any, tmp_path: Path) -> None:
    factory.toolchain("1.27.3")
    mod = tmp_path / "svc"
    (mod / "cmd" / "app").mkdir(parents=True)
    (mod / "go.mod").write_text("module example.com/svc\n\ngo 1.19\n")
    (mod / "cmd" / "app" / "main.go").write_text('package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("up") }\n')
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["build", str(mod), "--pkg", "./cmd/app", "-V", "cgo-off+stripped", "-t", "scratch",
                                   "--keep", str(out), "--json"])
    assert res.exit_code == 0, res.output
    m = json.loads(res.output)
    v = m["variants"][0]
    assert v["build"]["path"] == str(out / "cgo-off+stripped" / "app") and v["runs"][0]["stdout"] == "up\n"
    assert m["recommendation"]["command"] == "CGO_ENABLED=0 go build '-ldflags=-s -w' -o app ./cmd/app"
    truth = go_version_m(factory.gobin("1.27.3"), v["build"]["path"])
    assert truth is not None and truth.path == "example.com/svc/cmd/app"


def test_diff_names_the_c_side(matrix: tuple[dict[str, Any], Path]) -> None:
    """default (host gcc) vs glibc-2.17 (Zig): same Go settings, another C compiler — named from readelf's facts."""
    m, _ = matrix
    built = _built(m)
    a, b = built["default"]["build"]["path"], built["glibc-2.17"]["build"]["path"]
    d = json.loads(CliRunner().invoke(cli, ["diff", a, b, "--json"]).output)
    ra, rb = readelf(a), readelf(b)
    assert d["facts"]["min_glibc"] == {"a": ra.min_glibc, "b": rb.min_glibc}
    assert d["facts"]["needed"]["only_b"] == sorted(set(rb.needed) - set(ra.needed))
    cause = next(c for c in d["causes"] if c["code"] == "c-toolchain")
    assert f"min_glibc {ra.min_glibc} vs {rb.min_glibc}" in cause["message"]
    assert ".gnu.version_r" in cause["sections"]
    assert "CGO_ENABLED" not in d["facts"].get("settings", {})  # both built with cgo on: the build info is silent
