"""Windows targets per release: what a real PE imports (pefile is the oracle: DLL names and the functions taken
from each) judged against what each release ships (data/windows.toml, every entry citing Microsoft Learn's
'Minimum supported client'). Real PE files: Rust (ruff from PyPI, biome from npm; MSVC), Go (task from PyPI,
esbuild from npm, one built here) and a mingw-w64 C program built here."""

from __future__ import annotations

from pathlib import Path

import pefile
import pytest

from depfree.analysis.context import Options
from depfree.analysis.minimum import padded
from depfree.api import inspect
from depfree.model import to_json
from depfree.targets import windows
from depfree.targets.profiles import builtin
from helpers import packages
from helpers.corpus import corpus_file
from helpers.factory import Factory


def pe_imports(path: Path) -> dict[str, list[str]]:
    """DLL -> imported function names (pefile, the import directory only: delay-loaded DLLs are not needed to
    start)."""
    pe = pefile.PE(str(path), fast_load=True)
    pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"]])
    return {e.dll.decode(): [i.name.decode() for i in e.imports if i.name]
            for e in getattr(pe, "DIRECTORY_ENTRY_IMPORT", [])}


@pytest.fixture(scope="module")
def pes(factory: Factory, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import tarfile

    tmp = tmp_path_factory.mktemp("pe")
    out = {"ruff": corpus_file(factory, "ruff-win"), "task": corpus_file(factory, "task-win"),
           "esbuild": corpus_file(factory, "esbuild-win"), "go": factory.go("nettool", goos="windows"),
           "mingw": factory.c("hello.c", cc="x86_64-w64-mingw32-gcc")}
    with tarfile.open(packages.npm(factory, "@biomejs/cli-win32-x64@2.6.9")) as tf:
        tf.extract("package/biome.exe", tmp, filter="data")
    out["biome"] = tmp / "package" / "biome.exe"
    return out


WINDOWS = [n for n, p in builtin().items() if p.os == "windows"]


def test_every_windows_target_against_what_the_imports_need(pes: dict[str, Path]) -> None:
    """For each real PE and each Windows target: an import the release lacks (by the cited knowledge) is a reason
    naming it, and the verdict is ✗ exactly when one of them (or the binary's own minimum) is newer than the
    release; the imports judged are pefile's."""
    data = windows.releases()
    seen = set()
    for name, path in pes.items():
        imports = pe_imports(path)
        (report,) = [inspect(str(path), options=Options(targets=WINDOWS))]
        (b,) = report.binaries
        assert {lib.name: lib.functions for lib in b.linkage.libraries if not lib.delay_load} == imports
        cells = {c["target"]: c for c in to_json(b.targets or [])}
        for target in WINDOWS:
            version = builtin()[target].os_version or "0"
            want: set[str] = set()
            for dll, funcs in imports.items():
                low = dll.lower()
                since = data.dlls.get(low) or next((s for p, s in data.prefixes.items() if low.startswith(p)), None)
                if since and padded(since.version) > padded(version):
                    want.add(dll)
                want |= {f"{dll}!{f}" for f in funcs if (s := data.functions.get(f"{low}!{f}"))
                         and padded(s.version) > padded(version)}
            got = {name for r in cells[target]["reasons"] if " ships with " in r["message"]
                   for name in r["message"].split(" (", 1)[0].split(", ")}
            assert got == want, (name, target, cells[target])
            seen |= want
            low_os = b.effective_min_os
            too_old = low_os is not None and padded(low_os.version) > padded(version)
            hard = [r for r in cells[target]["reasons"] if r["severity"] == "fail"]
            assert (cells[target]["verdict"] == "fail") is bool(hard)
            assert bool(hard) is (too_old or any("!" in w or not _update(w) for w in want)), (name, target, hard)
    # the knowledge is exercised by the real binaries: Rust's ProcessPrng and WaitOnAddress, the UCRT API sets
    assert {"bcryptprimitives.dll!ProcessPrng", "api-ms-win-core-synch-l1-2-0.dll"} <= seen
    assert any(w.startswith("api-ms-win-crt-") for w in seen)


def _update(what: str) -> str:
    data = windows.releases()
    low = what.lower()
    since = data.dlls.get(low) or next((s for p, s in data.prefixes.items() if low.startswith(p)), None)
    return since.update if since else ""


def test_current_windows_runs_them_and_windows_7_does_not_run_current_rust(pes: dict[str, Path]) -> None:
    """Rust's std imports ProcessPrng (pefile): Windows 7 cannot start it; every current release can. A Go build's
    minimum (Go 1.21 and later need Windows 10) fails Windows 7 and 8.1 too."""
    assert "ProcessPrng" in pe_imports(pes["ruff"]).get("bcryptprimitives.dll", [])
    for name in ("ruff", "biome", "esbuild", "task", "go"):
        (b,) = inspect(str(pes[name]), options=Options(targets=WINDOWS)).binaries
        cells = {c.target: c.verdict for c in b.targets or []}
        for current in ("windows-10", "windows-11", "windows-server-2022", "windows-server-2025"):
            assert cells[current] != "fail", (name, current, b.targets)
        assert cells["windows-7"] == "fail", name
    (b,) = inspect(str(pes["mingw"]), options=Options(targets=WINDOWS)).binaries
    assert all(c.verdict == "ok" for c in b.targets or []), b.targets  # msvcrt.dll and kernel32 basics only


def test_vcruntime_is_a_need_not_a_failure(pes: dict[str, Path]) -> None:
    """biome.exe imports VCRUNTIME140.dll (pefile): the Visual C++ Redistributable is installed with programs, not
    part of Windows; a warning on every release, never ✗."""
    assert "VCRUNTIME140.dll" in pe_imports(pes["biome"])
    (b,) = inspect(str(pes["biome"]), options=Options(targets=["windows-11"])).binaries
    (cell,) = b.targets or []
    assert cell.verdict == "warn"
    assert [r.code for r in cell.reasons] == ["runtime-required"]


def test_release_knowledge_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    real = windows.load

    def broken(entry: object) -> object:
        def fake(name: str) -> dict[str, object]:
            data = dict(real(name))
            if name == "windows.toml":
                data["system32"] = {**data["system32"], "functions": {"kernel32.dll!X": entry}}
            return data
        return fake

    for entry, expect in (({"version": "6.2"}, "expected version 'N.N[.build]' and a source"),
                          ({"version": "7.5", "source": "x"}, "is not a release of [versions]"),
                          ("6.2", "expected a table with version and source")):
        monkeypatch.setattr(windows, "load", broken(entry))
        windows.releases.cache_clear()
        with pytest.raises(windows.WindowsDataError, match=expect.replace("[", r"\[").replace("]", r"\]")):
            windows.releases()
    monkeypatch.setattr(windows, "load", real)
    windows.releases.cache_clear()
    assert windows.releases().functions
