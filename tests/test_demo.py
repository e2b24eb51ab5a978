"""`depfree demo`: builds the same Go program with cgo off and on and shows both reports side by side.

Ground truth for the kept binaries: `readelf -l` (interpreter), `readelf -d` (NEEDED) and `go version -m`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.factory import Factory
from helpers.schema import assert_valid_report
from helpers.truth import go_version_m, readelf


def _demo(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "220", "NO_COLOR": "1"}
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "depfree", "demo", *args], capture_output=True, text=True,
                          env=env, check=False, timeout=900)


def _rows(stdout: str) -> dict[str, list[str]]:
    """The table's rows: label -> cell texts (first physical line of each cell)."""
    rows: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            if cells[0] and cells[0] not in rows:
                rows[cells[0]] = cells[1:]
    return rows


def test_demo_side_by_side(tmp_path: Path, factory: Factory) -> None:
    factory.require("gcc")
    proc = _demo("--keep", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    header = next(line for line in proc.stdout.splitlines() if "CGO_ENABLED=0" in line)
    assert header.index("CGO_ENABLED=0") < header.index("CGO_ENABLED=1")
    rows = _rows(proc.stdout)
    static, dynamic = tmp_path / "demo-cgo-off", tmp_path / "demo-cgo-on"
    truth_dyn, truth_static = readelf(dynamic), readelf(static)
    assert truth_dyn.interpreter and truth_static.interpreter is None
    assert rows["linkage"] == ["static", "dynamic"]
    assert rows["interpreter"] == ["—", truth_dyn.interpreter]
    assert rows["NEEDED"] == ["—", ", ".join(truth_dyn.needed)]
    assert rows["min glibc"][1].startswith(f"≥ {truth_dyn.min_glibc}")
    assert rows["cgo"][0].startswith("off") and rows["cgo"][1].startswith("on")
    assert "CGO_ENABLED" in rows["cgo"][1]  # the evidence is shown
    assert "CGO_ENABLED=1: net and os/user call glibc" in proc.stdout
    for path, cgo in ((static, "0"), (dynamic, "1")):
        gv = go_version_m(factory.gobin(), path, factory.goroot())
        assert gv is not None and gv.settings["CGO_ENABLED"] == cgo
    assert (tmp_path / "src" / "main.go").is_file()


def test_demo_json(factory: Factory) -> None:
    factory.require("gcc")
    proc = _demo("--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert_valid_report(data)
    off, on = data["binaries"]
    assert Path(off["path"]).name == "demo-cgo-off" and Path(on["path"]).name == "demo-cgo-on"
    assert (off["linkage"]["kind"], on["linkage"]["kind"]) == ("static", "dynamic")
    assert (off["go"]["cgo"], on["go"]["cgo"]) == (False, True)
    assert on["linkage"]["interpreter"].startswith("/lib")
    assert not Path(on["path"]).exists()  # without --keep the temp dir is gone


def test_demo_without_gcc_shows_the_static_build(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    proc = _demo(path=str(empty))
    assert proc.returncode == 0, proc.stderr
    assert "gcc not found" in proc.stderr and "apt-get install gcc" in proc.stderr
    rows = _rows(proc.stdout)
    assert rows["linkage"] == ["static"]
    assert "CGO_ENABLED=1" not in proc.stdout.split("\n", 3)[2]


@pytest.mark.parametrize(("args", "message"), [
    (("--go", "banana"), "unknown Go toolchain 'banana'"),
    (("--go", "debian-1.5"), "apt-get install golang-1.5-go"),
])
def test_demo_toolchain_errors(args: tuple[str, ...], message: str) -> None:
    proc = _demo(*args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_demo_keep_must_be_a_directory(tmp_path: Path) -> None:
    not_dir = tmp_path / "file"
    not_dir.write_text("x")
    proc = _demo("--keep", str(not_dir / "sub"))
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"depfree: {not_dir / 'sub'}: cannot create the --keep directory")
    assert "Traceback" not in proc.stderr
