"""``depfree inspect`` and ``scan`` end their process without the interpreter's clean-up (cli/main.py
``QUICK_EXIT``): what they wrote must still all arrive, through a pipe or into ``-o FILE``, with the exit code, and
nothing may be left behind; the digests are checked against ``sha256sum``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FILES = ["/bin/true", "/bin/ls", "/usr/bin/env"]


def sha256sum(path: str) -> str:
    return subprocess.run(["sha256sum", path], capture_output=True, text=True, check=True).stdout.split()[0]


def depfree(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "depfree", *args], capture_output=True, text=True, timeout=120,
                          check=False)


def test_the_whole_report_arrives_through_a_pipe_and_in_a_file(tmp_path: Path) -> None:
    piped = depfree("inspect", "--json", *FILES)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.endswith("}\n")
    report = json.loads(piped.stdout)
    assert [b["path"] for b in report["binaries"]] == FILES
    assert [b["sha256"] for b in report["binaries"]] == [sha256sum(f) for f in FILES]
    out = tmp_path / "report.json"
    written = depfree("inspect", "--json", "-o", str(out), *FILES)
    assert written.returncode == 0 and written.stdout == "", written.stderr
    assert out.read_text() == piped.stdout
    text = depfree("inspect", "--brief", *FILES)  # through rich's console
    assert text.returncode == 0, text.stderr
    assert [line.split(":")[0] for line in text.stdout.splitlines()] == FILES


def test_a_bad_input_still_reports_its_line_and_exit_code(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing")
    got = depfree("inspect", "--json", "/bin/true", missing)
    assert got.returncode == 2
    assert f"depfree: {missing}: " in got.stderr and "Traceback" not in got.stderr
    assert [e["path"] for e in json.loads(got.stdout)["errors"]] == [missing]
    usage = depfree("inspect", "--no-such-option")
    assert usage.returncode == 2 and "No such option" in usage.stderr


def test_a_scan_ends_quickly_with_everything_written_and_cleaned_up(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`scan` ends the same way once its pool and spool directory are gone: the report is whole (each binary's
    digest as sha256sum gives it), the exit code is the scan's, no worker is left and no temp file."""
    import os
    import tarfile

    tree = tmp_path / "tree"
    tree.mkdir()
    for i, f in enumerate(FILES):
        (tree / f"b{i}").write_bytes(Path(f).read_bytes() + bytes([i]))  # distinct contents: no copies
    archive = tmp_path / "release.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:  # compressed: its members are captured, the big one spooled
        tf.add(factory.go("plain"), arcname="app")
    spool = tmp_path / "tmp"
    spool.mkdir()
    env = {**os.environ, "TMPDIR": str(spool)}
    got = subprocess.run([sys.executable, "-m", "depfree", "scan", "--json", "--hash", "--jobs", "2",
                          "--limit", "spool-over=1KiB", str(tree), str(archive), str(tmp_path / "missing")],
                         capture_output=True, text=True, timeout=300, check=False, env=env)
    assert got.returncode == 2, got.stderr
    report = json.loads(got.stdout)
    digests = {b["path"]: b["sha256"] for b in report["binaries"]}
    assert {p: digests[p] for p in map(str, sorted(tree.iterdir()))} == {
        str(p): sha256sum(str(p)) for p in sorted(tree.iterdir())}
    assert digests[f"{archive}!app"] == sha256sum(str(factory.go("plain")))
    assert [e["path"] for e in report["errors"]] == [str(tmp_path / "missing")]
    assert list(spool.iterdir()) == []  # the spool directory went with the scan
    ps = subprocess.run(["pgrep", "-f", f"scan --json --hash --jobs 2 --limit spool-over=1KiB {tree}"],
                        capture_output=True, text=True, check=False)
    assert ps.stdout == ""  # no worker outlived the scan


def test_the_cli_raises_the_collector_threshold_before_its_imports_and_the_library_does_not() -> None:
    """cli/main.py sets the young generation's threshold before it imports click or the model; importing the
    library alone changes nothing, and its report types are still there on first use."""
    probe = ("import gc, sys; before = gc.get_threshold(); import depfree; "
             "print(gc.get_threshold() == before, 'depfree.model' in sys.modules, depfree.Report.__name__, "
             "depfree.Binary.__name__); "
             "import depfree.cli.main as m; print(gc.get_threshold()[0] == m.CLI_GC_THRESHOLD)")
    got = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert got.stdout.split() == ["True", "False", "Report", "Binary", "True"]


def test_after_the_interrupted_line_nothing_more_is_printed() -> None:
    """Ctrl-C ends a verb with one line; a library's warning from objects it tears down afterwards (a Dask
    cluster's coroutine never awaited, finalised at exit) is not printed after it."""
    probe = ("import atexit, sys\n"
             "from depfree.cli.common import friendly_errors\n"
             "async def pending(): pass\n"
             "held = []\n"
             "atexit.register(held.clear)  # the coroutine goes at exit, never awaited\n"
             "@friendly_errors\n"
             "def verb():\n"
             "    held.append(pending())\n"
             "    raise KeyboardInterrupt\n"
             "verb()\n")
    got = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert (got.returncode, got.stderr) == (130, "depfree: interrupted\n")
    warned = subprocess.run([sys.executable, "-c", probe.replace("raise KeyboardInterrupt", "sys.exit(0)")],
                            capture_output=True, text=True, timeout=60)
    assert "was never awaited" in warned.stderr  # (the probe does make the warning: it is the filter that hides it)
