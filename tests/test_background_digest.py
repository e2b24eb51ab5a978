"""``inspect`` hashes a large file on a thread while it analyses it (analysis/pipeline.py ``BackgroundDigest``): the
digest is sha256sum's, the facts are those of an analysis without the thread, a file that cannot be read is still
one clean error, and no thread outlives the call."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import depfree
from depfree.api import HASH_ALONGSIDE, analyse_source
from depfree.errors import InputError
from depfree.options import Options
from depfree.sources.file import BytesSource


def sha256sum(path: Path) -> str:
    return subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True).stdout.split()[0]


def digest_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "depfree-sha256"]


def large_binary(tmp_path: Path) -> Path:
    """/bin/ls with incompressible data after it (an overlay, as installers append), past HASH_ALONGSIDE."""
    path = tmp_path / "ls-with-overlay"
    path.write_bytes(Path("/bin/ls").read_bytes() + os.urandom(HASH_ALONGSIDE + 12345))
    return path


def test_the_digest_is_sha256sums_and_the_facts_are_unchanged(tmp_path: Path) -> None:
    path = large_binary(tmp_path)
    hashed = depfree.inspect(path).binaries[0]
    plain = depfree.inspect(path, hash=False).binaries[0]
    assert hashed.sha256 == sha256sum(path)
    assert plain.sha256 is None
    plain.sha256 = hashed.sha256
    assert hashed == plain
    assert digest_threads() == []


class Unreadable(BytesSource):
    """A source whose pages past the headers cannot be read (an I/O error on a bad disk) and that cannot be
    mapped."""

    def read_at(self, offset: int, length: int) -> bytes:
        if offset + length > 1 << 16:
            raise InputError(f"{self.name}: cannot read: Input/output error")
        return super().read_at(offset, length)

    def view(self) -> bytes:
        raise InputError(f"{self.name}: cannot map file: Input/output error")


def test_a_file_that_cannot_be_read_is_one_error_and_the_thread_is_gone(tmp_path: Path) -> None:
    data = large_binary(tmp_path).read_bytes()
    got = analyse_source(Unreadable(data, "bad-disk"), "bad-disk", Options(hash=True), hash_alongside=True)
    assert got.results == []
    assert got.error is not None and "Input/output error" in got.error
    assert digest_threads() == []


def test_a_file_that_is_no_binary_still_waits_for_its_thread() -> None:
    zeros = BytesSource(bytes(HASH_ALONGSIDE), "zeros")
    got = analyse_source(zeros, "zeros", Options(hash=True), hash_alongside=True)
    assert got.results == [] and got.error is not None
    assert digest_threads() == []
