"""One base exception for everything depfree reports as bad input or bad usage.

Messages say what was expected and what was found. The CLI prints ``str(err)`` on one line and never a traceback.
"""

from __future__ import annotations


class DepfreeError(Exception):
    """Base of every error depfree raises on purpose."""

    exit_code = 2


class InputError(DepfreeError):
    """The path cannot be read: missing, a directory, no permission, a symlink loop."""


class FormatError(DepfreeError):
    """The bytes are not a binary we understand, or they are truncated or corrupt."""


class NotABinaryError(FormatError):
    """The file is readable but is not ELF, PE or Mach-O."""


class UsageError(DepfreeError):
    """Arguments or configuration (a targets file, a policy file) are wrong."""


class DataFileError(DepfreeError):
    """A knowledge file in depfree/data does not have the shape its schema says (a packaging bug, not bad input)."""


class ToolchainError(DepfreeError):
    """A Go toolchain or an external helper program could not be obtained or run."""


def strip_name(message: str, name: str) -> str:
    """An error message without the ``name: `` it starts with, for a report that already names the file."""
    return message[len(name) + 2 :] if message.startswith(name + ": ") else message
