"""Run a command the way a person or a CI job sees it: in a real pseudo-terminal of a given width (``stty cols``),
or through a pipe."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR")}
    env["TERM"] = "xterm-256color"
    return env


def in_terminal(args: list[str], columns: int, cwd: str | None = None, timeout: float = 300) -> tuple[int, str]:
    """(exit code, what the terminal received with escape sequences removed) for ``depfree ARGS`` on a pty
    ``columns`` wide; stdout and stderr both go to the terminal."""
    master, slave = pty.openpty()
    subprocess.run(["stty", "cols", str(columns), "rows", "50"], stdin=slave, check=True)
    proc = subprocess.Popen([sys.executable, "-m", "depfree", *args], stdin=slave, stdout=slave, stderr=slave,
                            cwd=cwd, env=_env(), close_fds=True)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    rc = proc.wait(timeout=10)
    text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    return rc, ANSI.sub("", text)


def through_pipe(args: list[str], cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "depfree", *args], capture_output=True, text=True, cwd=cwd,
                          env=_env(), timeout=300, check=False)
