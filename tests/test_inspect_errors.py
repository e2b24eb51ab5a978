"""Bad input never produces a traceback or a hang: one line per file on stderr, other files still reported, exit 2."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import depfree
from depfree.analysis.pipeline import analyze
from depfree.errors import FormatError, InputError, NotABinaryError
from depfree.formats import open_executables
from depfree.sources.file import BytesSource, FileSource

GOOD = "/bin/true"


def run_cli(*args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "depfree", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def assert_clean_error(proc: subprocess.CompletedProcess[str], expect: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert expect in proc.stderr, proc.stderr


@pytest.fixture()
def elf_bytes() -> bytes:
    return Path(GOOD).read_bytes()


def test_empty_file(tmp_path: Path) -> None:
    f = tmp_path / "empty"
    f.write_bytes(b"")
    proc = run_cli("inspect", str(f), GOOD)
    assert_clean_error(proc, "empty file")
    assert "/bin/true" in proc.stdout  # the good file is still reported


def test_text_file(tmp_path: Path) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("just some text\n")
    assert_clean_error(run_cli("inspect", str(f)), "not an executable")


def test_a_file_that_cannot_be_mapped_is_read_in_pieces() -> None:
    """A sysfs attribute claims 4096 bytes and refuses mmap (ENODEV): it is read with pread and found to be text."""
    path = "/sys/devices/system/cpu/online"
    assert_clean_error(run_cli("inspect", path), "not an executable")
    with FileSource(path) as src:
        assert src.read_at(0, 2).isdigit() or src.read_at(0, 1) == b"0"
        with pytest.raises(InputError, match="cannot map file"):
            src.view()


def test_a_read_that_fails_is_an_input_error(tmp_path: Path) -> None:
    with FileSource(GOOD) as src:
        d = os.open(tmp_path, os.O_RDONLY)
        os.dup2(d, src._fd)  # the descriptor now reads a directory (EISDIR), as a failing disk gives EIO
        os.close(d)
        with pytest.raises(InputError, match="cannot read: Is a directory"):
            src.read_at(0, 64)


def test_pieces_cut_from_the_ends_are_the_bytes_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first and last FileSource.END_BYTES are read once and pieces cut from them: every piece equals the
    file's bytes there, across both boundaries and for files shorter than one end or than both."""
    end = FileSource.END_BYTES
    for size in (10, end - 1, end + 5, 2 * end - 3, 5 * end):
        f = tmp_path / f"f{size}"
        data = os.urandom(size)
        f.write_bytes(data)
        cuts = {0, 1, end - 64, end - 1, end, end + 1, size - end - 1, size - end, size - end + 1, size - 64,
                size - 1, size, size + 5}
        with FileSource(f) as src:
            for off in sorted(c for c in cuts if c >= 0):
                for n in (1, 64, end, 3 * end):
                    assert src.read_at(off, n) == data[off : off + n], (size, off, n)
    reads: list[tuple[int, int]] = []
    real = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, off: reads.append((off, n)) or real(fd, n, off))
    with FileSource(tmp_path / f"f{5 * end}") as src:
        size = src.size
        for off, n in [(0, 64), (64, 728), (4000, 1500), (size - 2000, 1984), (size - 9000, 300), (3 * end, 64)]:
            src.read_at(off, n)
    assert reads == [(0, end), (size - end, end), (3 * end, 64)]  # the two ends once each, the middle as asked


def test_a_file_truncated_while_read_gives_short_reads(tmp_path: Path, elf_bytes: bytes) -> None:
    """The size is taken when the file is opened; a file cut shorter later reads short (a mapping would SIGBUS)."""
    f = tmp_path / "shrinking"
    f.write_bytes(elf_bytes)
    with FileSource(f) as src:
        os.truncate(f, 100)
        assert len(src.read_at(0, 4096)) == 100 and src.read_at(4096, 64) == b""
        from depfree.api import analyse_source
        from depfree.options import Options

        got = analyse_source(src, str(f), Options(hash=False))  # whatever it makes of the rest, it does not crash
        assert got.error is None or "internal error" not in got.error


def test_missing_path(tmp_path: Path) -> None:
    assert_clean_error(run_cli("inspect", str(tmp_path / "nope")), "no such file")


def test_directory_is_walked_by_magic_without_following_links(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_clean_error(run_cli("inspect", str(empty)), "holds no ELF, PE or Mach-O file")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    shutil.copy(GOOD, tree / "sub" / "prog.renamed")
    (tree / "README").write_text("text")
    (tree / "sub" / "loop").symlink_to(tree)
    (tree / "escape").symlink_to("/bin/ls")
    report = depfree.inspect(str(tree))
    assert [b.path for b in report.binaries] == [str(tree / "sub" / "prog.renamed")]
    assert report.errors == []


def test_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert_clean_error(run_cli("inspect", str(tmp_path / "a")), "symbolic links")


def test_dangling_symlink(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "gone")
    assert_clean_error(run_cli("inspect", str(tmp_path / "a")), "dangling")


def test_fifo_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert_clean_error(run_cli("inspect", str(fifo)), "not a regular file")


def test_no_permission(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As root the permission bits do not apply, so make open() fail the way the kernel does for a normal user
    (EACCES) and drive the CLI in-process."""
    from click.testing import CliRunner

    from depfree.cli.main import cli

    f = tmp_path / "secret"
    shutil.copy(GOOD, f)
    f.chmod(0o000)
    real_open = open

    def fake_open(file, *a, **k):  # type: ignore[no-untyped-def]
        if str(file) == str(f):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *a, **k)

    monkeypatch.setattr("builtins.open", fake_open)
    result = CliRunner().invoke(cli, ["inspect", str(f), GOOD])
    assert result.exit_code == 2
    assert "permission denied" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if os.geteuid() != 0:
        monkeypatch.undo()
        assert_clean_error(run_cli("inspect", str(f)), "permission denied")


@pytest.mark.parametrize("cut", [1, 4, 15, 16, 40, 63, 64, 200, 1000, 4096])
def test_truncated_elf(elf_bytes: bytes, tmp_path: Path, cut: int) -> None:
    f = tmp_path / f"trunc{cut}"
    f.write_bytes(elf_bytes[:cut])
    proc = run_cli("inspect", "--json", str(f))
    assert "Traceback" not in proc.stderr
    if proc.returncode == 2:
        out = json.loads(proc.stdout)
        assert out["errors"] and out["errors"][0]["path"] == str(f)
        assert "ELF" in out["errors"][0]["error"] or "executable" in out["errors"][0]["error"]
    else:  # a truncated file may still have readable headers; then the report must be valid
        assert proc.returncode == 0


def _patched(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    b = bytearray(data)
    struct.pack_into(fmt, b, offset, value)
    return bytes(b)


@pytest.mark.parametrize(("field", "offset", "fmt", "value"), [
    ("e_phoff past end", 32, "<Q", 1 << 40),
    ("e_phnum huge", 56, "<H", 0xFFFF),
    ("e_shoff past end", 40, "<Q", 1 << 40),
    ("e_shnum huge", 60, "<H", 0xFFFF),
    ("e_phentsize zero", 54, "<H", 0),
    ("bad class", 4, "<B", 7),
])
def test_hostile_header(elf_bytes: bytes, field: str, offset: int, fmt: str, value: int) -> None:
    data = _patched(elf_bytes, offset, fmt, value)
    try:
        exes = open_executables(BytesSource(data, "hostile"))
        for exe in exes:
            analyze(exe)
    except FormatError as exc:
        assert "hostile" in str(exc)


def test_hostile_dynamic_and_verneed(tmp_path: Path, elf_bytes: bytes) -> None:
    """Point DT_VERNEED and DT_STRTAB far outside the file: a clear error or a report, never a crash."""
    from depfree.formats.elf import ElfExecutable

    exe = ElfExecutable(BytesSource(elf_bytes, "x"))
    dyn = next(s for s in exe.segments() if s.kind == "PT_DYNAMIC")
    data = bytearray(elf_bytes)
    for i in range(0, dyn.filesz, 16):
        tag, _val = struct.unpack_from("<qQ", data, dyn.offset + i)
        if tag in (5, 0x6FFFFFFE, 0x6FFFFFFF):  # DT_STRTAB, DT_VERNEED, DT_VERNEEDNUM
            struct.pack_into("<Q", data, dyn.offset + i + 8, 0x7FFF_FFFF_0000 if tag != 0x6FFFFFFF else 0xFFFFFFFF)
    f = tmp_path / "hostile-dyn"
    f.write_bytes(bytes(data))
    proc = run_cli("inspect", "--json", str(f))
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (0, 2)


def test_random_bytes_with_elf_magic(tmp_path: Path) -> None:
    import random

    rng = random.Random(1234)
    for i in range(30):
        data = b"\x7fELF" + bytes([rng.choice([1, 2]), rng.choice([1, 2]), 1]) + rng.randbytes(rng.randint(0, 3000))
        f = tmp_path / f"r{i}"
        f.write_bytes(data)
        proc = run_cli("inspect", str(f)) if i < 3 else None
        if proc is not None:
            assert "Traceback" not in proc.stderr
        report = depfree.inspect(str(f))
        assert len(report.binaries) + len(report.errors) == 1


def test_library_api_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        FileSource(tmp_path / "missing")
    with pytest.raises(NotABinaryError):
        open_executables(BytesSource(b"#!/bin/sh\necho hi\n", "script"))
    report = depfree.inspect([str(tmp_path / "missing"), GOOD])
    assert [e.path for e in report.errors] == [str(tmp_path / "missing")]
    assert report.binaries[0].path == GOOD


# ---- one error contract (issue 18): a bug is one line, never a raw traceback -----------------------------------------
# No real input is known to trip a bug (the fuzz findings are fixed), so the fault is injected: the reader of one file
# raises what a slip in a reader would (a ValueError), the renderer of a verb raises what a slip there would.

_INJECT = """
import shutil, sys
import depfree.analysis.linkage as linkage
real = linkage.elf_linkage
def slip(exe, *a, **k):
    if exe.path.endswith("victim"):
        raise ValueError("invalid literal for int() with base 16: 'ZZ'")
    return real(exe, *a, **k)
linkage.elf_linkage = slip
if sys.argv[1] == "render":
    import depfree.render.text as text  # cli.inspect imports its renderer when it prints
    def boom(*a, **k):
        raise RuntimeError("boom\\nsecond line")
    text.print_report = boom
from depfree.cli.main import cli
cli(sys.argv[2:], prog_name="depfree")
"""


OTHER = "/bin/ls"  # not a copy of the victim: scan would share the victim's analysis with a copy


def run_injected(mode: str, *args: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DEPFREE_DEBUG"}
    if debug:
        env["DEPFREE_DEBUG"] = "1"
    return subprocess.run([sys.executable, "-c", _INJECT, mode, *args], capture_output=True, text=True, timeout=120,
                          env=env, check=False)


def test_a_reader_bug_is_one_error_line_in_inspect_and_scan(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    shutil.copy(GOOD, victim)
    expect = "internal error while analysing (ValueError: invalid literal for int() with base 16: 'ZZ')"
    for verb in ("inspect", "scan"):
        proc = run_injected("reader", verb, "--json", str(victim), OTHER)
        assert_clean_error(proc, f"{victim}: {expect}")
        report = json.loads(proc.stdout)
        assert [b["path"] for b in report["binaries"]] == [OTHER]  # the other file is still reported
        assert [(e["path"], e["error"]) for e in report["errors"]] == [(str(victim), expect)]


def test_a_bug_outside_the_analysis_is_one_line_and_exit_2_unless_debugging() -> None:
    proc = run_injected("render", "inspect", GOOD)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("depfree: internal error (RuntimeError: boom); this is a bug in depfree: "
                                   "DEPFREE_DEBUG=1 shows the traceback")
    debug = run_injected("render", "inspect", GOOD, debug=True)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "RuntimeError: boom" in debug.stderr
