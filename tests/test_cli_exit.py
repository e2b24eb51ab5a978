"""``depfree inspect`` ends its process without the interpreter's clean-up (cli/main.py ``QUICK_EXIT``): what it
wrote must still all arrive, through a pipe or into ``-o FILE``, with its exit code; the digests are checked against
``sha256sum``."""

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
