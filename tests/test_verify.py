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
from depfree.sandbox.runner import TARGET

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
    scratch, glibc = verify(str(lookups["cgo"]), ["scratch", "glibc"])
    assert scratch.failure == "interpreter-missing" and not scratch.started
    assert glibc.failure == "ok" and glibc.started and glibc.exit_code == 0
    assert "dns: true" in glibc.stdout


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


def test_timeout_kills_everything(lookups, host_unchanged) -> None:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    marker = f"{os.getpid() % 1000 + 1000}s"  # a sleep length no other test uses, to find our processes only
    run = verify(str(lookups["static"]), ["scratch"], args=("-sleep", marker), timeout=2)[0]
    assert run.timed_out and run.failure == "timeout" and run.exit_code is None
    assert time.monotonic() - t0 < 30
    time.sleep(0.5)
    leftovers = subprocess.run(["pgrep", "-f", f"{TARGET} -sleep {marker}"], capture_output=True,
                               text=True).stdout.strip()
    assert leftovers == ""


def test_cannot_write_outside_or_reach_the_network(lookups, host_unchanged) -> None:  # type: ignore[no-untyped-def]
    run = verify(str(lookups["static"]), ["scratch"], args=("-write", "/owned-by-sandbox", "-dial", "1.1.1.1:443"))[0]
    assert run.started
    assert "write: <nil>" not in run.stdout  # the root is writable only inside the temp dir, removed afterwards
    assert "dial: <nil>" not in run.stdout
    assert any(c["address"] == "1.1.1.1" and not c["ok"] for c in run.connect)


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
    assert "agrees: needs /lib64/ld-linux-x86-64.so.2" in out


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
