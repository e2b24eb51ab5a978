"""`depfree verify`: real runs in real namespaces. Each test checks the host was not modified."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from depfree.sandbox import verify

HOST_PROBES = ["/etc/resolv.conf", "/etc/hosts", "/etc/ssl/certs/ca-certificates.crt", "/etc/passwd"]


def _snapshot() -> dict[str, tuple[float, int] | None]:
    out = {}
    for p in HOST_PROBES:
        try:
            st = os.stat(p)
            out[p] = (st.st_mtime, st.st_size)
        except FileNotFoundError:
            out[p] = None
    return out


@pytest.fixture()
def host_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Host files untouched, and the sandbox's temporary roots (made under this test's own temp dir, so parallel
    workers do not see each other's) are all removed."""
    import tempfile

    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    before = _snapshot()
    yield
    assert _snapshot() == before, "the host was modified"
    assert not Path("/owned-by-sandbox").exists()
    assert [p.name for p in scratch.iterdir()] == [], "a temporary root was left behind"


@pytest.fixture(scope="module")
def lookups(factory) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    return {"static": factory.go("lookups"), "cgo": factory.go("lookups", cgo=True),
            "arm64": factory.go("lookups", goarch="arm64")}


def test_cgo_binary_in_scratch_and_glibc(lookups, host_unchanged) -> None:  # type: ignore[no-untyped-def]
    interp = subprocess.run(["readelf", "-l", str(lookups["cgo"])], capture_output=True, text=True).stdout
    interp = interp.split("Requesting program interpreter: ", 1)[1].split("]", 1)[0]
    scratch, glibc, busybox = verify(str(lookups["cgo"]), ["scratch", "glibc", "busybox"])
    assert scratch.failure == "interpreter-missing" and not scratch.started
    assert scratch.details["interpreter"] == interp and interp in scratch.missing
    assert glibc.failure == "ok" and glibc.started and glibc.exit_code == 0
    assert "dns: true" in glibc.stdout
    assert interp in glibc.root_contents and any(c.endswith("/libc.so.6") for c in glibc.root_contents)
    assert busybox.failure == "interpreter-missing" and "/bin/busybox" in busybox.root_contents


def test_static_binary_in_scratch_lists_what_it_reached_for(lookups, host_unchanged) -> None:  # type: ignore[no-untyped-def]
    run = verify(str(lookups["static"]), ["scratch"])[0]
    assert run.started and run.failure == "ok"
    for path in ("/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/ssl/certs/ca-certificates.crt"):
        assert path in run.missing
    assert any("zoneinfo" in m and "Europe/Berlin" in m for m in run.missing)
    assert "certs: false" in run.stdout


def test_certs_root_removes_the_ca_bundle_from_missing(lookups, host_unchanged) -> None:  # type: ignore[no-untyped-def]
    run = verify(str(lookups["static"]), ["scratch+certs"], zoneinfo=True)[0]
    assert "/etc/ssl/certs/ca-certificates.crt" not in run.missing
    assert "/etc/ssl/certs/ca-certificates.crt" in run.accessed
    assert "certs: true" in run.stdout and "zoneinfo: true" in run.stdout


def test_glibc_binary_in_musl_root(lookups, host_unchanged) -> None:  # type: ignore[no-untyped-def]
    run = verify(str(lookups["cgo"]), ["musl"])[0]
    assert run.failure == "interpreter-missing"


def test_symbol_version_with_an_older_libc_stub(factory, tmp_path: Path, host_unchanged) -> None:  # type: ignore[no-untyped-def]
    """A root whose libc.so.6 only defines GLIBC_2.2.5: the loader refuses a binary that needs GLIBC_2.34."""
    exe = factory.c("hello.c")
    root = tmp_path / "oldroot"
    (root / "lib64").mkdir(parents=True)
    (root / "lib/x86_64-linux-gnu").mkdir(parents=True)
    import shutil

    shutil.copy("/lib64/ld-linux-x86-64.so.2", root / "lib64/ld-linux-x86-64.so.2")
    src = tmp_path / "stub.c"
    src.write_text("int printf(const char *f, ...) { return 0; }\nint puts(const char *s) { return 0; }\n")
    script = tmp_path / "v.map"
    script.write_text("GLIBC_2.2.5 { global: *; };\n")
    subprocess.run(["gcc", "-shared", "-nostdlib", "-fPIC", "-o", str(root / "lib/x86_64-linux-gnu/libc.so.6"),
                    "-Wl,-soname,libc.so.6", f"-Wl,--version-script={script}", str(src)], check=True)
    run = verify(str(exe), [str(root)])[0]
    assert run.failure == "symbol-version", run.stderr
    assert run.details["version"].startswith("GLIBC_2.")
    assert not run.started


def test_library_missing(factory, tmp_path: Path, host_unchanged) -> None:  # type: ignore[no-untyped-def]
    exe = factory.c("hello.c", flags=("-lz",)) if Path("/usr/lib/x86_64-linux-gnu/libz.so").exists() else None
    if exe is None:
        pytest.fail("zlib1g-dev is needed for this test (CI installs it)")
    root = tmp_path / "noz"
    (root / "lib64").mkdir(parents=True)
    (root / "lib/x86_64-linux-gnu").mkdir(parents=True)
    import shutil

    shutil.copy("/lib64/ld-linux-x86-64.so.2", root / "lib64/")
    shutil.copy("/lib/x86_64-linux-gnu/libc.so.6", root / "lib/x86_64-linux-gnu/")
    run = verify(str(exe), [str(root)])[0]
    if "libz.so.1" in subprocess.run(["readelf", "-d", str(exe)], capture_output=True, text=True).stdout:
        assert run.failure == "library-missing" and run.details["library"] == "libz.so.1"


def _processes_with(marker: str) -> list[int]:
    """PIDs whose command line contains ``marker``, read from /proc."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    out.append(int(entry.name))
            except OSError:
                continue
    return out


def test_timeout_kills_everything(lookups, host_unchanged) -> None:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    marker = f"{os.getpid() % 1000 + 1000}s"  # a sleep length no other test uses, to find our processes only
    run = verify(str(lookups["static"]), ["scratch"], args=("-sleep", marker), timeout=2)[0]
    assert run.timed_out and run.failure == "timeout" and run.exit_code is None
    assert time.monotonic() - t0 < 30
    time.sleep(0.5)
    assert _processes_with(f"-sleep\0{marker}") == []


@pytest.fixture(scope="module")
def behave(factory) -> Path:  # type: ignore[no-untyped-def]
    return factory.c("behave.c", flags=("-static", "-O1"))


def test_timeout_kills_a_tree_that_left_the_session(behave: Path, host_unchanged) -> None:  # type: ignore[no-untyped-def]
    """The program forks a child that calls setsid() and another that does not: killing the namespace's init
    takes all of them, and nothing is left in /proc."""
    marker = f"depfree-tree-{os.getpid()}"
    run = verify(str(behave), ["scratch"], args=("tree", marker), timeout=1.5)[0]
    assert run.timed_out and run.failure == "timeout" and not run.expectations_met
    assert "tree started" in run.stdout  # output written before the kill is kept
    forks = [e for e in run.execve if e["ok"]]
    assert len(forks) == 1  # one program image; its children are forks
    time.sleep(0.5)
    assert _processes_with(marker) == []


def test_crash_nonzero_exit_and_expectations(behave: Path, host_unchanged) -> None:  # type: ignore[no-untyped-def]
    crash = verify(str(behave), ["scratch"], args=("crash",))[0]
    assert crash.failure == "crash" and crash.signal == "SIGSEGV" and crash.exit_code is None and crash.started
    three = verify(str(behave), ["scratch"], args=("exit", "3"))[0]
    assert three.failure == "nonzero-exit" and three.exit_code == 3 and not three.expectations_met
    expected = verify(str(behave), ["scratch"], args=("exit", "3"), expect_exit=3)[0]
    assert expected.expectations_met
    wrong_output = verify(str(behave), ["scratch"], args=("exit", "0"), expect_output="never printed")[0]
    assert wrong_output.failure == "ok" and not wrong_output.expectations_met


def test_output_is_capped(behave: Path, host_unchanged) -> None:  # type: ignore[no-untyped-def]
    run = verify(str(behave), ["scratch"], args=("spam", "200000"), max_output=1000)[0]
    assert run.failure == "ok"
    assert len(run.stdout) == 1000 and len(run.stderr) == 1000
    assert run.stdout_bytes == 200000 and run.stderr_bytes == 200000


def test_without_strace_exit_status_diagnosis(lookups, behave: Path, monkeypatch: pytest.MonkeyPatch,
                                              host_unchanged) -> None:  # type: ignore[no-untyped-def]
    import shutil

    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "strace" else real_which(name, *a, **k))
    scratch, glibc = verify(str(lookups["cgo"]), ["scratch", "glibc"])
    assert not scratch.isolation["traced"] and "strace not installed" in scratch.isolation["note"]
    assert scratch.failure == "interpreter-missing" and not scratch.started
    assert glibc.failure == "ok" and glibc.started and glibc.accessed == []
    crash = verify(str(behave), ["scratch"], args=("crash",))[0]
    assert crash.failure == "crash" and crash.signal == "SIGSEGV"


def test_glibc_root_follows_origin_rpath(tmp_path: Path, host_unchanged) -> None:  # type: ignore[no-untyped-def]
    """A library found through $ORIGIN/../lib (not a system directory) lands where the rebased RPATH points."""
    app = tmp_path / "app"
    (app / "lib").mkdir(parents=True)
    (app / "bin").mkdir()
    (tmp_path / "dfx.c").write_text("int dfx(void) { return 7; }\n")
    (tmp_path / "main.c").write_text("int dfx(void);\nint main(void) { return dfx() == 7 ? 0 : 1; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(app / "lib/libdfx.so"), str(tmp_path / "dfx.c")], check=True)
    subprocess.run(["gcc", "-o", str(app / "bin/use"), str(tmp_path / "main.c"), f"-L{app / 'lib'}", "-ldfx",
                    "-Wl,-rpath,$ORIGIN/../lib", "-Wl,--disable-new-dtags"], check=True)
    run = verify(str(app / "bin/use"), ["glibc"])[0]
    assert run.failure == "ok", run.stderr
    assert "/lib/libdfx.so" in run.root_contents


def test_non_executable_file_is_copied_in(lookups, tmp_path: Path, host_unchanged) -> None:  # type: ignore[no-untyped-def]
    import shutil

    plain = tmp_path / "downloaded"
    shutil.copyfile(lookups["static"], plain)
    plain.chmod(0o644)
    run = verify(str(plain), ["scratch"])[0]
    assert run.started and run.isolation["binary"] == "copied"
    assert oct(plain.stat().st_mode & 0o777) == "0o644"


def test_cannot_write_outside_or_reach_the_network(lookups, host_unchanged) -> None:  # type: ignore[no-untyped-def]
    run = verify(str(lookups["static"]), ["scratch"], args=("-write", "/owned-by-sandbox", "-dial", "1.1.1.1:443"))[0]
    assert run.started
    assert "write: <nil>" not in run.stdout  # the root is writable only inside the temp dir, removed afterwards
    assert "dial: <nil>" not in run.stdout
    assert any(c["address"] == "1.1.1.1" and not c["ok"] for c in run.connect)


def test_host_loopback_is_out_of_reach(lookups, host_unchanged) -> None:  # type: ignore[no-untyped-def]
    """A service listening on the host's 127.0.0.1 is not reachable: the sandbox has its own loopback."""
    import socket

    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        srv.setblocking(False)
        port = srv.getsockname()[1]
        run = verify(str(lookups["static"]), ["scratch"], args=("-dial", f"127.0.0.1:{port}"))[0]
        assert run.started and "dial: <nil>" not in run.stdout and "connection refused" in run.stdout
        assert any(c["address"] == "127.0.0.1" and c["port"] == port for c in run.connect)
        with pytest.raises(BlockingIOError):
            srv.accept()


def test_foreign_arch_with_and_without_qemu(lookups, monkeypatch: pytest.MonkeyPatch, host_unchanged) -> None:  # type: ignore[no-untyped-def]
    import shutil

    with_qemu = verify(str(lookups["arm64"]), ["scratch"])[0]
    assert shutil.which("qemu-aarch64-static"), "CI installs qemu-user-static"
    assert with_qemu.isolation["emulator"] and with_qemu.started and "dns: true" in with_qemu.stdout
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if "qemu" in name else real_which(name, *a, **k))
    without = verify(str(lookups["arm64"]), ["scratch"])[0]
    assert without.failure == "exec-format" and "qemu" in without.details["hint"]


def test_cli_json_table_and_exit_codes(lookups, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cmd = [sys.executable, "-m", "depfree", "verify"]
    ok = subprocess.run([*cmd, str(lookups["static"]), "--root", "scratch", "--json", "--expect-output", "dns: true"],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0
    data = json.loads(ok.stdout)
    assert data["schema"] == "depfree.verify/1"
    keys = {"binary", "root", "started", "exit_code", "signal", "timed_out", "failure", "missing", "accessed",
            "stdout", "stderr", "isolation"}
    assert keys <= set(data["runs"][0])
    fail = subprocess.run([*cmd, str(lookups["cgo"]), "--root", "scratch", "--root", "glibc"], capture_output=True,
                          text=True, check=False)
    assert fail.returncode == 1 and "interpreter-missing" in fail.stdout
    bad = subprocess.run([*cmd, str(tmp_path / "missing")], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    badroot = subprocess.run([*cmd, str(lookups["static"]), "--root", "nope"], capture_output=True, text=True,
                             check=False)
    assert badroot.returncode == 2 and "unknown root" in badroot.stderr


def test_inspect_verify_side_by_side(lookups) -> None:  # type: ignore[no-untyped-def]
    out = subprocess.run([sys.executable, "-m", "depfree", "inspect", "--verify", str(lookups["cgo"]),
                          str(lookups["static"])], capture_output=True, text=True, check=False).stdout
    assert "verify (static vs observed)" in out
    cgo_part, static_part = out.split(str(lookups["static"]) + ":", 1)
    interp_row = next(line for line in cgo_part.splitlines() if "interpreter /lib64/ld-linux-x86-64.so.2" in line
                      and ("missing" in line or "found" in line))
    assert interp_row.split()[-2:] == ["missing", "found"]  # scratch, glibc columns
    ca_row = next(line for line in static_part.splitlines() if "file /etc/ssl/certs/ca-certificates.crt" in line)
    assert ca_row.split()[-2:] == ["missing", "missing"]
    data = json.loads(subprocess.run([sys.executable, "-m", "depfree", "inspect", "--json", "--verify-root",
                                      "scratch", str(lookups["static"])], capture_output=True, text=True).stdout)
    (run,) = data["binaries"][0]["verify"]
    assert run["root"] == "scratch" and run["started"] and "/etc/resolv.conf" in run["missing"]


def test_no_user_namespaces_gives_a_clear_error(lookups, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import depfree.sandbox.runner as runner
    from depfree.sandbox.runner import SandboxError

    real = subprocess.run

    def fake_run(cmd, *a, **k):  # type: ignore[no-untyped-def]
        if cmd[:2] == ["unshare", "-r"]:
            return subprocess.CompletedProcess(cmd, 1, "", "unshare: unshare failed: Operation not permitted")
        return real(cmd, *a, **k)

    monkeypatch.setattr(runner.subprocess, "run", fake_run)
    with pytest.raises(SandboxError, match="unprivileged_userns_clone"):
        verify(str(lookups["static"]), ["scratch"])


def test_a_failed_mount_stops_the_run(lookups, monkeypatch: pytest.MonkeyPatch, host_unchanged) -> None:  # type: ignore[no-untyped-def]
    """If a read-only bind cannot be made (here: its source vanished), nothing runs and the error says which."""
    import depfree.sandbox.runner as runner
    from depfree.sandbox.runner import SandboxError

    real_build = runner.build_root

    def build_with_a_vanished_source(kind, binary, tmp, **kw):  # type: ignore[no-untyped-def]
        root = real_build(kind, binary, tmp, **kw)
        (root.path / "data").mkdir()
        root.binds.append(("/nonexistent/depfree-vanished", "/data"))
        return root

    monkeypatch.setattr(runner, "build_root", build_with_a_vanished_source)
    marker = f"depfree-never-{os.getpid()}"
    with pytest.raises(SandboxError, match="bind /nonexistent/depfree-vanished read-only"):
        verify(str(lookups["static"]), ["scratch"], args=("-write", f"/tmp/{marker}"))


def test_a_shared_sandbox_checks_once_and_builds_each_root_once(lookups, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                                                 host_unchanged) -> None:
    """What a build matrix does: many runs through one Sandbox. The isolation probe runs once, each root is built
    once and reused (the program is bound into it, nothing is copied), and closing removes them all. The runs say
    what readelf and a real run say."""
    import depfree.sandbox.runner as runner
    from depfree.sandbox.runner import Sandbox

    cgo, static = str(lookups["cgo"]), str(lookups["static"])
    interp = subprocess.run(["readelf", "-l", cgo], capture_output=True, text=True).stdout
    interp = interp.split("Requesting program interpreter: ", 1)[1].split("]", 1)[0]
    on_host = subprocess.run(["unshare", "-r", "-n", cgo], capture_output=True, text=True, timeout=60)
    probes = []
    real = subprocess.run

    def counting_run(cmd, *a, **k):  # type: ignore[no-untyped-def]
        if cmd[:2] == ["unshare", "-r"]:
            probes.append(cmd)
        return real(cmd, *a, **k)

    monkeypatch.setattr(runner.subprocess, "run", counting_run)
    with Sandbox() as sb:
        runs = [*verify(cgo, ["scratch", "glibc"], sandbox=sb), *verify(static, ["scratch", "scratch"], sandbox=sb),
                *verify(cgo, ["glibc"], sandbox=sb)]
        built = list(sb.roots._built.values())
        where = built[0].path.parent.parent
        assert len(probes) == 1 and len(built) == 2 and where.is_dir()  # scratch and glibc, each once
    assert not where.exists()
    scratch_cgo, glibc_cgo, scratch_a, scratch_b, glibc_again = runs
    assert not scratch_cgo.started and scratch_cgo.failure == "interpreter-missing" and interp in scratch_cgo.missing
    assert glibc_cgo.started == glibc_again.started == (on_host.returncode == 0)
    assert scratch_a.started and scratch_b.started and scratch_a.stdout == scratch_b.stdout
    assert all(r.isolation["binary"] == "bound read-only" for r in runs)


def test_timeout_and_trace_without_pidfd_or_seccomp(lookups, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                                    host_unchanged) -> None:
    """An older kernel or Python (no pidfd_open) waits by polling, and an strace without --seccomp-bpf traces every
    stop: the timeout still kills everything and the trace still shows what the program reached for."""
    import depfree.sandbox.runner as runner

    def no_pidfd(pid: int) -> int:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(runner.os, "pidfd_open", no_pidfd)
    monkeypatch.setattr(runner, "_seccomp_filter", lambda strace: False)
    marker = f"{os.getpid() % 1000 + 2000}s"
    run = verify(str(lookups["static"]), ["scratch"], args=("-sleep", marker), timeout=2)[0]
    assert run.timed_out and run.failure == "timeout" and run.exit_code is None
    time.sleep(0.5)
    assert _processes_with(f"-sleep\0{marker}") == []
    run = verify(str(lookups["static"]), ["scratch"])[0]
    assert run.started and run.exit_code == 0 and "/etc/resolv.conf" in run.missing
