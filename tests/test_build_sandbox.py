"""The sandbox paths `depfree build` times and proves with: the timed runs inside one sandbox set-up
(:func:`depfree.sandbox.runner.time_runs`) and the mounts made by ``mount -a`` from an fstab (paths with the
characters fstab escapes).

Oracles: busybox-static's own applets (``sleep`` bounds the clock from below; ``sh -c 'test $$ -eq 1 ...'`` exits 0
only as PID 1 in a fresh /tmp), and the program run directly in an empty root with unshare + chroot.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from depfree.errors import UsageError
from depfree.sandbox.process import fstab
from depfree.sandbox.runner import Sandbox, SandboxError, time_runs, verify

BUSYBOX = "/bin/busybox"
# exits 0 only when it is PID 1 of its namespace and /tmp holds no file left by an earlier run
FRESH = "test $$ -eq 1 && test ! -e /tmp/left-behind && : > /tmp/left-behind"

pytestmark = pytest.mark.skipif(not os.path.isfile(BUSYBOX), reason="busybox-static is not installed")


@pytest.fixture(scope="module")
def sandbox() -> Any:
    with Sandbox() as sb:
        yield sb


def test_each_timed_run_is_pid_1_in_a_fresh_tmp(sandbox: Sandbox) -> None:
    got = time_runs(BUSYBOX, "scratch", 3, args=("sh", "-c", FRESH), sandbox=sandbox)
    assert got.clock == "sandbox" and got.exit_codes == [0, 0, 0]
    assert len(got.durations) == 3 and all(d > 0 for d in got.durations)
    bad = time_runs(BUSYBOX, "scratch", 2, args=("sh", "-c", "exit 3"), sandbox=sandbox)
    assert bad.exit_codes == [3, 3]  # each run's own exit status


def test_the_clock_times_each_run_apart(sandbox: Sandbox) -> None:
    got = time_runs(BUSYBOX, "scratch", 2, args=("sleep", "0.2"), sandbox=sandbox)
    assert all(0.2 <= d < 2.0 for d in got.durations), got.durations  # each run alone, not the set-up or the pair
    # GNU time on busybox alone: the sandbox's figure is the largest of it and the helpers around it
    out = subprocess.run(["/usr/bin/time", "-f", "%M", BUSYBOX, "true"], capture_output=True, text=True, check=True)
    own = int(out.stderr.strip().splitlines()[-1])
    assert got.peak_rss_kb is not None and own * 0.7 <= got.peak_rss_kb <= own + 4096, (own, got.peak_rss_kb)


def test_a_run_past_the_timeout_is_killed_and_the_next_one_runs(sandbox: Sandbox) -> None:
    got = time_runs(BUSYBOX, "scratch", 2, args=("sleep", "30"), timeout=0.5, sandbox=sandbox)
    assert got.exit_codes == [137, 137]  # SIGKILL from timeout(1), per run
    assert all(0.5 <= d < 5 for d in got.durations), got.durations


def test_timed_runs_that_do_not_finish_are_an_error(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    import depfree.sandbox.runner as runner

    real = runner.execute
    monkeypatch.setattr(runner, "execute", lambda script, timeout, limit: real(script, 0.5, limit))
    with pytest.raises(SandboxError, match=r"0 of 2 timed runs in scratch finished \(timed out\)"):
        time_runs(BUSYBOX, "scratch", 2, args=("sleep", "30"), sandbox=sandbox)
    with pytest.raises(UsageError, match="n must be 1 or more, got 0"):
        time_runs(BUSYBOX, "scratch", 0, sandbox=sandbox)


def test_a_failed_fresh_tmp_stops_the_timed_runs(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    import depfree.sandbox.process as process

    real = process._loop
    monkeypatch.setattr(process, "_loop", lambda root, cmd, rep: [line.replace("umount ", "umount /nonexistent")
                                                                  for line in real(root, cmd, rep)])
    with pytest.raises(SandboxError, match=r"could not set up the sandbox \(fresh /tmp\)"):
        time_runs(BUSYBOX, "scratch", 2, args=("true",), sandbox=sandbox)


def test_without_date_and_timeout_the_runner_times_separate_runs(sandbox: Sandbox,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import depfree.sandbox.runner as runner

    monkeypatch.setattr(runner, "_timing_tools", lambda: None)
    got = time_runs(BUSYBOX, "scratch", 2, args=("sh", "-c", FRESH), sandbox=sandbox)
    assert got.clock == "runner" and got.exit_codes == [0, 0] and got.peak_rss_kb is None
    assert len(got.durations) == 2


def test_fstab_lines_read_back_by_libmount(tmp_path: Path) -> None:
    entries = [("/a dir/with spaces", "/root/x y", "none", "bind,ro"), ("/tab\there\\and\nnewline", "/t", "none", "bind"),
               ("tmpfs", "/root/tmp", "tmpfs", "size=64m,nosuid,nodev")]
    tab = tmp_path / "fstab"
    tab.write_text(fstab(entries))
    out = subprocess.run(["findmnt", "-F", str(tab), "-n", "-J", "-o", "SOURCE,TARGET,FSTYPE,OPTIONS"],
                         capture_output=True, text=True, check=True).stdout
    got = [(f["source"], f["target"], f["fstype"], f["options"]) for f in json.loads(out)["filesystems"]]
    assert got == entries


@pytest.mark.parametrize("name", ["a dir with spaces", "tab\tand\\backslash"])
def test_paths_fstab_escapes_are_bound(name: str, tmp_path: Path, sandbox: Sandbox) -> None:
    """The binary's path goes into the fstab ``mount -a`` reads: spaces, tabs and backslashes are escaped."""
    d = tmp_path / name
    d.mkdir()
    exe = d / "busybox"
    shutil.copy(BUSYBOX, exe)
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(BUSYBOX, root / "busybox")
    truth = subprocess.run(["unshare", "-r", "-n", "chroot", str(root), "/busybox", "echo", "bound"],
                           capture_output=True, text=True, timeout=60, check=False)
    (run,) = verify(str(exe), "scratch", args=("echo", "bound"), sandbox=sandbox)
    assert run.started and run.exit_code == truth.returncode == 0 and run.stdout == truth.stdout == "bound\n"
    assert run.isolation["binary"] == "bound read-only"
    got = time_runs(str(exe), "scratch", 2, args=("sh", "-c", FRESH), sandbox=sandbox)
    assert got.exit_codes == [0, 0]


def test_a_user_rootfs_entry_with_a_space_is_bound_read_only(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy(BUSYBOX, rootfs / "bin" / "busybox")
    (rootfs / "my data").mkdir()
    (rootfs / "my data" / "file").write_text("inside\n")
    prog = tmp_path / "busybox"
    shutil.copy(BUSYBOX, prog)
    (run,) = verify(str(prog), str(rootfs), args=("sh", "-c", "cat '/my data/file'; : > '/my data/new'"))
    assert run.stdout == "inside\n" and run.exit_code != 0  # read, but not written: bound read-only
    assert not (rootfs / "my data" / "new").exists()


def test_a_device_that_cannot_be_bound_is_left_out_and_the_run_goes_on(sandbox: Sandbox,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """One fstab holds every mount; when ``mount -a`` fails on an optional one (here a device node the host lacks),
    the mounts are made one by one and the run goes on with the devices that exist."""
    import depfree.sandbox.process as process

    monkeypatch.setattr(process, "DEVICES", (*process.DEVICES, "depfree-absent"))
    check = "test -c /dev/null && echo x > /dev/null && test -c /dev/urandom && test -d /proc/self"
    (run,) = verify(BUSYBOX, "scratch", args=("sh", "-c", check), sandbox=sandbox)
    assert run.started and run.exit_code == 0, run.stderr
    assert time_runs(BUSYBOX, "scratch", 2, args=("sh", "-c", check), sandbox=sandbox).exit_codes == [0, 0]
