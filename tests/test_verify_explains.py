"""`depfree verify` explains itself: a failed expectation says what was expected and what came, with the last lines
of the program's output; a multi-call binary (busybox) keeps its name as argv[0] and dispatches; PE and Mach-O files
are refused with what verify can run; a --root directory that does not exist is "no such directory"."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BUSYBOX = "/bin/busybox"  # busybox-static (.ci/apt-packages.txt)


def verify(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "depfree", "verify", *args], capture_output=True, text=True,
                          timeout=120, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_busybox_applets_dispatch_on_their_name(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    factory.require("busybox")
    bb = tmp_path / "busybox"
    shutil.copy(BUSYBOX, bb)
    (tmp_path / "uname").symlink_to("busybox")
    host = subprocess.run(["uname", "-s"], capture_output=True, text=True, check=True).stdout
    # the multi-call binary under its own name, with the applet as the first argument ...
    run = json.loads(verify(str(bb), "--root", "scratch", "--json", "--", "uname", "-s").stdout)["runs"][0]
    assert run["started"] and run["exit_code"] == 0 and run["stdout"] == host
    # ... and under an applet's name, as a symlink farm calls it
    proc = verify(str(tmp_path / "uname"), "--root", "scratch", "--expect-output", f"^{host.strip()}$", "--", "-s")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "applet not found" not in proc.stdout + proc.stderr


def test_failed_expectations_say_what_was_expected_and_what_came(factory) -> None:  # type: ignore[no-untyped-def]
    exe = str(factory.c("hello.c"))
    host = subprocess.run([exe, "there"], capture_output=True, text=True, timeout=60, check=False)  # an actual run
    assert host.stdout == "hello, there\n"
    bad_exit = verify(exe, "--root", "glibc", "--expect-exit", "3", "--", "there")
    assert bad_exit.returncode == 1
    assert f"glibc: expected exit 3, got exit {host.returncode}" in bad_exit.stdout
    lines = bad_exit.stdout.splitlines()
    tail = lines.index("glibc: last 1 line of stdout:")
    assert lines[tail + 1] == "    hello, there" and "glibc: stderr: (empty)" in lines
    bad_out = verify(exe, "--root", "glibc", "--expect-output", "^bye", "--", "there")
    assert bad_out.returncode == 1
    assert "glibc: expected stdout to match /^bye/; got: hello, there" in bad_out.stdout.splitlines()
    data = json.loads(verify(exe, "--root", "glibc", "--expect-exit", "3", "--json").stdout)["runs"][0]
    assert data["expectations_met"] is False and data["unmet"] == [f"expected exit 3, got exit {host.returncode}"]
    scratch = verify(exe, "--root", "scratch")  # it needs a loader scratch does not have
    assert "scratch: expected the program to start, got interpreter-missing" in scratch.stdout


@pytest.mark.parametrize(("goos", "what"), [("windows", "a PE (Windows) file"), ("darwin", "Mach-O")])
def test_pe_and_macho_are_not_run(factory, goos: str, what: str) -> None:  # type: ignore[no-untyped-def]
    exe = factory.go("plain", goos=goos)
    magic = exe.read_bytes()[:4]
    assert magic[:2] == b"MZ" if goos == "windows" else magic in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe")
    proc = verify(str(exe), "--root", "scratch")
    assert proc.returncode == 2
    assert what in proc.stderr and "verify runs Linux binaries on this host" in proc.stderr
    assert "qemu" not in proc.stderr


def test_missing_root_directory(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    exe = str(factory.go("plain"))
    gone = tmp_path / "rootfs"
    assert not os.path.exists(gone)
    proc = verify(exe, "--root", str(gone))
    assert proc.returncode == 2 and proc.stderr.strip() == f"depfree: --root {gone}: no such directory"
    (tmp_path / "file").write_text("x")
    not_dir = verify(exe, "--root", str(tmp_path / "file"))
    assert not_dir.returncode == 2 and "not a directory" in not_dir.stderr


def test_interrupted_is_exit_130_and_leaves_nothing_running(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import signal
    import time

    factory.require("busybox")
    bb = tmp_path / "busybox"
    shutil.copy(BUSYBOX, bb)
    # a duration no other run on this machine uses, so the /proc search finds this test's sleep and no other's
    seconds = str(1000 + os.getpid() % 100000)
    proc = subprocess.Popen([sys.executable, "-m", "depfree", "verify", str(bb), "--root", "scratch", "--timeout",
                             "60", "--", "sleep", seconds], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _sleeping(seconds):
        time.sleep(0.2)
    assert _sleeping(seconds), "the sandboxed program never started"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    time.sleep(0.5)
    assert not _sleeping(seconds)


def _sleeping(seconds: str) -> bool:
    """The sandboxed ``busybox sleep SECONDS`` is running (argv[0] is where verify puts the program in its root)."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd[:3] == [b"/.depfree/busybox", b"sleep", seconds.encode()]:
            return True
    return False
