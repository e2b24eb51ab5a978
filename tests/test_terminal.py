"""Everyday hostility (issue 17), through a real terminal: Ctrl-C and SIGTERM during a real scan, check and inspect;
file names that are not UTF-8; streams that cannot encode the Unicode marks; a bad value inside [[overrides]].

The terminal is a pty (Python's ``pty.fork``): the verb is the session leader with the pty as its controlling
terminal, so the Ctrl-C written to the master is turned into SIGINT for the whole foreground process group — the
pool workers included — by the kernel's line discipline, as when a user presses it."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.factory import Factory


def run_in_pty(args: list[str], after: float, how: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``args`` on a new pty; ``after`` seconds in, press Ctrl-C (``how="INT"``) or send SIGTERM. Returns the
    exit code (as a shell reports it) and everything the terminal showed."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        if env:
            os.environ.update(env)
        os.execv(args[0], args)
    out = b""
    start = time.monotonic()
    sent = False
    while True:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        if not sent and time.monotonic() - start > after:
            if how == "INT":
                os.write(fd, b"\x03")  # the terminal's intr character
            else:
                os.kill(pid, signal.SIGTERM)
            sent = True
        if time.monotonic() - start > after + 120:
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def big_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real tree that takes a scan several seconds: /usr/bin and /usr/lib of this machine (read, not copied)."""
    return Path("/usr")


def depfree_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "depfree", *args]


@pytest.mark.parametrize(("verb", "how", "code"), [
    (("scan", "--jobs", "2"), "INT", 130),
    (("scan", "--jobs", "2"), "TERM", 143),
    (("check",), "INT", 130),
    (("inspect",), "INT", 130),
])
def test_interrupt_in_a_terminal(big_tree: Path, verb: tuple[str, ...], how: str, code: int) -> None:
    rc, screen = run_in_pty(depfree_cmd(*verb, str(big_tree)), after=2.5, how=how)
    assert rc == code, screen[-2000:]
    lines = [ln for ln in screen.replace("\r", "\n").splitlines() if ln.strip()]
    assert lines[-1].strip().endswith("interrupted"), screen[-2000:]
    assert screen.count("interrupted") == 1
    assert "Traceback" not in screen and "KeyboardInterrupt" not in screen
    assert "summary:" not in screen  # partial output is never presented as complete


def test_interrupted_scan_leaves_no_workers(big_tree: Path, tmp_path: Path) -> None:
    marker = str(tmp_path / "not-there")  # a second input, unique to this run: it names the workers' command line
    rc, screen = run_in_pty(depfree_cmd("scan", "--jobs", "2", "--json", str(big_tree), marker), after=2.5,
                            how="INT")
    assert rc == 130
    assert "{" not in screen  # no half JSON document
    time.sleep(0.5)
    left = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker.encode() in (proc / "cmdline").read_bytes():
                left.append(proc.name)
        except OSError:
            continue
    assert left == []


@pytest.fixture()
def odd_name(factory: Factory, tmp_path: Path) -> bytes:
    """A real binary whose file name is Latin-1 (not valid UTF-8), as a byte path."""
    d = os.fsencode(tmp_path) + b"/caf\xe9-\xff"
    shutil.copy(factory.c("hello.c"), d)
    return d


def test_non_utf8_name_in_a_terminal(odd_name: bytes) -> None:
    for verb in (("inspect",), ("check",), ("scan", "--jobs", "1"), ("targets",), ("hardening",), ("size",)):
        rc, screen = run_in_pty(depfree_cmd(*verb, os.fsdecode(odd_name)), after=600, how="INT")
        assert "Traceback" not in screen, (verb, screen[-2000:])
        assert rc in (0, 1), (verb, screen[-2000:])


def test_non_utf8_name_in_json_and_sarif(odd_name: bytes, tmp_path: Path) -> None:
    name = os.fsdecode(odd_name)
    for args in (("inspect", "--json"), ("scan", "--jobs", "1", "--json"), ("check", "--format", "json"),
                 ("check", "--format", "sarif")):
        proc = subprocess.run(depfree_cmd(*args, name), capture_output=True, check=False)
        assert b"Traceback" not in proc.stderr, proc.stderr[-2000:]
        text = proc.stdout.decode("utf-8")  # valid UTF-8: the odd bytes are escaped
        assert "\\udce9" in text
        doc = json.loads(text)
        paths = json.dumps(doc)
        assert "\\udce9-\\udcff" in paths
    for verb in ("inspect", "scan", "check", "size"):  # HTML, to a file: the JSON inside it is escaped the same way
        out = tmp_path / f"{verb}.html"
        proc = subprocess.run(depfree_cmd(verb, "--format", "html", "-o", str(out), name), capture_output=True,
                              check=False)
        assert b"Traceback" not in proc.stderr and proc.returncode in (0, 1), proc.stderr[-2000:]
        assert out.stat().st_size > 0
    # the escape gives the original bytes back
    doc = json.loads(subprocess.run(depfree_cmd("inspect", "--json", name), capture_output=True,
                                    check=True).stdout)
    assert os.fsencode(doc["binaries"][0]["path"]) == odd_name


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_streams_that_cannot_encode_the_marks(factory: Factory, encoding: str) -> None:
    binary = str(factory.c("hello.c"))
    env = {**os.environ, "PYTHONIOENCODING": encoding}
    for verb in (("targets",), ("inspect",), ("check",), ("scan", "--jobs", "1"), ("hardening",)):
        proc = subprocess.run(depfree_cmd(*verb, binary), capture_output=True, env=env, check=False)
        assert b"Traceback" not in proc.stderr, (verb, proc.stderr[-2000:])
        assert proc.returncode in (0, 1), (verb, proc.stderr[-2000:])
        proc.stdout.decode(encoding)
        if encoding == "ascii" and verb == ("targets",):
            assert b"+" in proc.stdout or b"x" in proc.stdout  # the ASCII marks


def test_bad_value_inside_overrides_is_the_same_clean_error(factory: Factory, tmp_path: Path) -> None:
    binary = str(factory.c("hello.c"))
    top = tmp_path / "top.toml"
    top.write_text("max_glibc = 2.28\n")
    over = tmp_path / "over.toml"
    over.write_text('[[overrides]]\npaths = ["*"]\nmax_glibc = 2.28\n')
    msgs = []
    for policy in (top, over):
        proc = subprocess.run(depfree_cmd("check", "--policy", str(policy), binary), capture_output=True,
                              text=True, check=False)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        msgs.append(proc.stderr.strip().split(": ", 2)[-1])
    assert msgs[0] == msgs[1] == "'max_glibc' must be a string, found float"
