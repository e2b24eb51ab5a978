"""`depfree verify` as a normal user, and where user namespaces are not allowed (a real denial, not a simulation):
user.max_user_namespaces=0 inside a user namespace forbids creating further ones."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from depfree.sandbox.observe import parse_strace

NEEDED_MODULES = ("depfree", "click", "rich", "markdown_it", "mdurl", "pygments", "elftools", "pefile", "ordlookup",
                  "peutils", "typing_extensions", "orjson")


def _as_nobody(*cmd: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "env", "-i",
                           *(f"{k}={v}" for k, v in env.items()), *cmd], capture_output=True, text=True, check=False,
                          timeout=120)


def _nobody_python(tmp: Path) -> tuple[str, dict[str, str]] | None:
    """A Python the user nobody can run, and a PYTHONPATH it can read holding depfree and its dependencies (copied
    out of directories nobody cannot enter, e.g. a pyenv under /root)."""
    site = tmp / "site"
    site.mkdir()
    for name in NEEDED_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        src = Path(spec.origin)
        src = src.parent if src.name == "__init__.py" else src
        if src.is_dir():
            shutil.copytree(src, site / src.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, site / src.name)
    home = tmp / "home"
    home.mkdir()
    for p in (tmp, site, home, *site.rglob("*")):
        p.chmod(0o755 if p.is_dir() else 0o644)
    os.chown(home, 65534, 65534)
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(home),
           "PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1"}
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for python in (sys.executable, shutil.which(f"python{version}") or "", "/usr/bin/python3"):
        if python and _as_nobody(python, "-c", "import depfree.cli.verify", env=env).returncode == 0:
            return python, env
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to nobody needs root; as a normal user every test is this")
def test_verify_as_a_normal_user(factory) -> None:  # type: ignore[no-untyped-def]
    # pytest's tmp_path lives under /tmp/pytest-of-root (mode 0700), which nobody cannot enter
    tmp_path = Path(tempfile.mkdtemp(prefix="depfree-nobody-"))
    try:
        _run_as_nobody(factory, tmp_path)
    finally:
        shutil.rmtree(tmp_path)


def _run_as_nobody(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tmp_path.chmod(0o755)
    found = _nobody_python(tmp_path)
    if found is None:
        pytest.skip("no Python the user nobody can run with depfree's dependencies")
    python, env = found
    exe = tmp_path / "lookups"
    shutil.copy(factory.go("lookups", cgo=True), exe)
    exe.chmod(0o755)
    probe = _as_nobody("unshare", "-r", "-m", "-p", "-n", "-f", "true", env=env)
    proc = _as_nobody(python, "-m", "depfree", "verify", str(exe), "--root", "scratch", "--root", "glibc", "--json",
                      env=env)
    if probe.returncode != 0:  # the kernel forbids unprivileged user namespaces: the clear error instead
        assert proc.returncode == 2 and "cannot create user namespaces" in proc.stderr and "sysctl" in proc.stderr
        return
    assert proc.returncode == 1, proc.stderr  # scratch fails, glibc runs
    scratch, glibc = json.loads(proc.stdout)["runs"]
    assert scratch["failure"] == "interpreter-missing"
    assert glibc["failure"] == "ok" and glibc["started"] and "dns: true" in glibc["stdout"]
    assert glibc["isolation"]["traced"] and glibc["accessed"]
    home = tmp_path / "home"
    left = sorted(p.relative_to(home) for p in home.rglob("*") if not p.is_dir())
    assert all(p.parts[:3] == (".cache", "depfree", "derived") for p in left), left  # the derived-data cache only


def test_no_user_namespaces_is_a_clear_error(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    exe = factory.go("lookups")
    script = ("echo 0 > /proc/sys/user/max_user_namespaces && exec " + " ".join(
        [sys.executable, "-m", "depfree", "verify", str(exe), "--root", "scratch"]))
    proc = subprocess.run(["unshare", "-U", "-r", "-m", "sh", "-c", script], capture_output=True, text=True,
                          check=False, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "cannot create user namespaces" in proc.stderr and "user.max_user_namespaces is 0" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_usage_errors(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    exe = str(factory.go("lookups"))
    cmd = [sys.executable, "-m", "depfree", "verify"]
    cases = {("--timeout", "0"): "--timeout", ("--env", "NOEQUALS"): "--env", ("--expect-output", "("): "regular",
             ("--root", str(tmp_path / "nope")): "no such directory", ("--root", "nope"): "unknown root 'nope'"}
    for extra, message in cases.items():
        proc = subprocess.run([*cmd, exe, *extra], capture_output=True, text=True, check=False)
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, (extra, proc.stderr)
    proc = subprocess.run([*cmd, str(tmp_path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "a directory" in proc.stderr


def test_strace_lines_are_parsed() -> None:
    """Lines as strace 6 prints them (captured from real runs)."""
    text = "\n".join([
        '7 execve("/usr/sbin/chroot", ["chroot"], 0x7ffd /* 0 vars */) = 0',
        '7 openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3',
        '7 execve("/.depfree-app", ["/.depfree-app"], 0x7ffd /* 0 vars */) = 0',
        '7 openat(AT_FDCWD, "/etc/resolv.conf", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)',
        '7 openat(AT_FDCWD, "/x", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0644) = -1 EROFS (Read-only file system)',
        '[pid     9] newfstatat(AT_FDCWD, "/etc/hosts", 0xc000, 0) = 0',
        '9 connect(3, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("1.1.1.1")}, 16) '
        '= -1 ENETUNREACH (Network is unreachable)',
        '9 connect(4, {sa_family=AF_INET6, sin6_port=htons(53), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", '
        '&sin6_addr), sin6_scope_id=0}, 28) = 0',
        '9 connect(5, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT (No such file)',
        '9 openat(AT_FDCWD, "/etc/qemu-binfmt/aarch64/etc/hosts", O_RDONLY) = -1 ENOENT (No such file)',
        "this line is not a system call",
    ])
    obs = parse_strace(text, "/.depfree-app", emulated=True)
    assert obs.target_started
    assert obs.missing == ["/etc/resolv.conf"] and obs.accessed == ["/etc/hosts"] and obs.denied == ["/x"]
    assert [(c["address"], c["port"], c["ok"], c["error"]) for c in obs.connect] == [
        ("1.1.1.1", 443, False, "ENETUNREACH"), ("::1", 53, True, None),
        ("/var/run/nscd/socket", None, False, "ENOENT")]
    failed = parse_strace('5 execve("/.depfree-app", ["x"], 0x0) = -1 ENOENT (No such file or directory)',
                          "/.depfree-app")
    assert not failed.target_started and failed.target_exec_error == "ENOENT"
