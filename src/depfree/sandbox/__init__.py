"""The only code that executes an inspected file: in a constructed root, in fresh user, mount, PID and network
namespaces, under strace, with a clean environment and a timeout. Public entry point: :func:`verify`."""

from __future__ import annotations

from depfree.sandbox.runner import ROOT_KINDS, Run, verify

__all__ = ["ROOT_KINDS", "Run", "verify"]
