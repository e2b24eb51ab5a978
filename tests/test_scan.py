"""``depfree scan`` and ``depfree.scan()``: input order with a process pool, the content-hash cache, the JSON
schema, the text report and exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import depfree
from depfree.model import Binary, to_json
from depfree.options import Options
from depfree.scan import scan
from helpers import images
from helpers.factory import Factory
from helpers.schema import assert_valid_report


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "depfree", "scan", *args], capture_output=True, text=True,
                          check=False)


@pytest.fixture(scope="module")
def inputs(factory: Factory, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same static binary in a directory (twice, hard-linked), a tar.gz and a zip; a C binary beside it."""
    tmp = tmp_path_factory.mktemp("inputs")
    app = factory.go("plain")
    d = tmp / "dir"
    d.mkdir()
    shutil.copy2(app, d / "app")
    os.link(d / "app", d / "app-hardlink")
    shutil.copy2(factory.c("hello.c"), d / "hello")
    tgz = tmp / "app.tar.gz"
    subprocess.run(["tar", "-czf", str(tgz), "-C", str(d), "app"], check=True)
    z = tmp / "app.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(app, "app")
    return {"dir": d, "tgz": tgz, "zip": z, "app": app}


@pytest.mark.parametrize("hashed", [True, False])
def test_input_order_and_content_cache_with_pool(inputs: dict[str, Path], hashed: bool) -> None:
    """The copies (in a zip, a directory, a hard link, a tar.gz) are one analysis whether or not the sha256 is asked
    for; with it, every copy carries sha256sum's digest; without it, none carries one."""
    seen: list[tuple[int, int]] = []
    bogus = str(inputs["dir"] / "nope")
    report = scan([inputs["zip"], bogus, inputs["dir"], inputs["tgz"]], jobs=2, options=Options(hash=hashed),
                  progress=lambda done, found, what: seen.append((done, found)))
    assert [c.path for c in report.containers or []] == [str(inputs["zip"]), str(inputs["dir"]),
                                                            str(inputs["tgz"])]
    assert [(e.path, e.error) for e in report.errors] == [(bogus, "no such file")]
    paths = [b.path for b in report.binaries]
    assert paths == [f"{inputs['zip']}!app", str(inputs["dir"] / "app"), str(inputs["dir"] / "app-hardlink"),
                     str(inputs["dir"] / "hello"), f"{inputs['tgz']}!app"]
    digest = subprocess.run(["sha256sum", str(inputs["app"])], capture_output=True, text=True,
                            check=True).stdout.split()[0]
    assert {b.sha256 for b in report.binaries if b.path.endswith(("app", "app-hardlink"))} == (
        {digest} if hashed else {None})
    # four copies of the Go binary, one C binary: two analyses
    assert max(found for _, found in seen) == 2
    assert report.binaries[0] is not report.binaries[1]

    def facts(b: Binary) -> dict[str, object]:  # (the path, and the verdicts and resolution judged where it sits)
        return {k: v for k, v in to_json(b).items() if k not in ("path", "targets", "resolution")}

    # the copies in later inputs get the first's facts back from what was kept of them once the zip was emitted
    first = facts(report.binaries[0])
    assert all(facts(b) == first for b in report.binaries if b.path.endswith(("app", "app-hardlink")))


def test_library_entry_point() -> None:
    report = depfree.scan("/usr/bin/true", jobs=1)
    assert report.containers and report.containers[0].kind == "file"
    assert depfree.scan.scan is scan


def test_json_matches_schema(factory: Factory, inputs: dict[str, Path]) -> None:
    image = images.docker_archive(factory, "glibc")
    proc = cli("--json", "--jobs", "2", str(image), str(inputs["tgz"]))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert_valid_report(data)
    assert [c["kind"] for c in data["containers"]] == ["docker-archive", "tar"]
    app = next(b for b in data["binaries"] if b["path"] == f"{image}!/app")
    assert app["resolution"]["interpreter_found"] is True
    assert proc.stderr == ""  # no progress bar when piped


def test_text_report_groups_by_container(factory: Factory) -> None:
    layout = images.oci_layout(factory)
    proc = cli("--jobs", "1", str(layout))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"{layout}@static  oci, 1 file, 1 binary, judged as an image: ✓ every binary has what the image must " \
        "carry" in out
    # one mark per binary: what the image lacks, then what the runtime supplies; never "self-contained" beside ✗
    assert "✗ /app (dynamic Go binary, glibc): missing from the image: /lib64/ld-linux-x86-64.so.2 (interpreter), " \
        "libc.so.6; missing from the image, needed when used: /etc/ssl/certs/ca-certificates.crt" in out
    assert "/etc/resolv.conf, /etc/hosts (written by the container runtime)" in out
    assert not [line for line in out.splitlines() if "✗" in line and "self-contained" in line]
    assert out.rstrip().splitlines()[-1].startswith("summary: 6 containers, ")


def test_text_names_the_kind_of_container(inputs: dict[str, Path], tmp_path: Path) -> None:
    """A release archive or a directory is the application: the loader and libc are the machine's part (✓, listed
    as needs), never "missing from the archive"."""
    tgz = tmp_path / "release.tar.gz"
    subprocess.run(["tar", "-czf", str(tgz), "-C", str(inputs["dir"]), "hello"], check=True)
    out = cli("--jobs", "1", str(tgz), str(inputs["dir"])).stdout
    assert "✓ hello (dynamic executable, glibc): needs from the machine: /lib64/ld-linux-x86-64.so.2 (interpreter), " \
        "libc.so.6" in out
    assert f"✓ {inputs['dir'] / 'hello'} (dynamic executable, glibc): needs from the machine: " \
        "/lib64/ld-linux-x86-64.so.2 (interpreter), libc.so.6" in out
    assert "judged as an application" in out


def test_checksums_in_text_and_exit_codes(inputs: dict[str, Path], tmp_path: Path) -> None:
    manifest = tmp_path / "SHA256SUMS"
    manifest.write_text(f"{'0' * 64}  {inputs['tgz'].name}\n")
    proc = cli("--jobs", "1", "--checksums", str(manifest), str(inputs["tgz"]))
    assert proc.returncode == 0
    assert "checksums" in proc.stdout and "1 mismatched (app.tar.gz)" in proc.stdout
    proc = cli("--checksums", str(tmp_path / "absent"), str(inputs["tgz"]))
    assert proc.returncode == 2 and "no such checksum file" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli("--jobs", "0", str(inputs["tgz"]))
    assert proc.returncode == 2 and "--jobs must be at least 1" in proc.stderr
    proc = cli("--depth", "-1", str(inputs["tgz"]))
    assert proc.returncode == 2 and "--depth must be 0 or more" in proc.stderr
    proc = cli(str(tmp_path / "nothing-here"))
    assert proc.returncode == 2 and "nothing-here: no such file" in proc.stderr


def test_image_dir_missing_blob_is_a_clear_error(factory: Factory, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    shutil.copytree(images.oci_layout(factory), layout)
    index = json.loads((layout / "index.json").read_text())
    index["manifests"] = [m for m in index["manifests"]
                          if m["annotations"]["org.opencontainers.image.ref.name"] == "static"]
    (layout / "index.json").write_text(json.dumps(index))
    manifest = json.loads((layout / "blobs" / "sha256" / index["manifests"][0]["digest"][7:]).read_text())
    (layout / "blobs" / "sha256" / manifest["layers"][0]["digest"][7:]).unlink()
    report = scan(layout, jobs=1)
    assert not report.containers
    assert report.errors[0].error.startswith("not a usable image: layer sha256:")
    assert report.errors[0].error.endswith("is missing from the image's blobs")


def test_copies_are_analysed_once_and_equal_sizes_are_told_apart(factory: Factory, tmp_path: Path) -> None:
    """Two copies (not hard links) are one analysis; a file of the same size with other bytes is another, whether
    the bytes differ inside the three 4 KiB blocks compared first (start, middle, end) or only outside them, where
    the sha256 tells; every sha256 is sha256sum's."""
    src = factory.c("hello.c")
    d = tmp_path / "tree"
    d.mkdir()
    shutil.copy2(src, d / "a")
    shutil.copy2(src, d / "b")
    other = bytearray(src.read_bytes())
    other[-1] ^= 0xFF  # same size, other content (the last byte of the section header table's padding or strings)
    (d / "c").write_bytes(bytes(other))
    size, at = len(other), 5000  # past the first block, before the middle one (padding after .fini in gcc output)
    assert 4096 <= at < size // 2 - 2048
    unsampled = bytearray(src.read_bytes())
    unsampled[at] ^= 0xFF
    (d / "e").write_bytes(bytes(unsampled))
    truth = {line.split()[1]: line.split()[0] for line in subprocess.run(
        ["sha256sum", *(str(d / n) for n in "abce")], capture_output=True, text=True, check=True).stdout.splitlines()}
    assert len(set(truth.values())) == 3
    for hashed in (False, True):  # copies are told apart without the sha256 too (sources/copies.py)
        found: list[int] = []
        report = scan(d, jobs=2, options=Options(hash=hashed), progress=lambda done, n, what, seen=found: seen.append(n))
        assert [Path(b.path).name for b in report.binaries] == ["a", "b", "c", "e"]
        assert {b.path: b.sha256 for b in report.binaries} == (truth if hashed else dict.fromkeys(truth))
        assert max(found) == 3


def test_json_written_in_pieces_is_the_report(factory: Factory, tmp_path: Path) -> None:
    """`scan --json` writes the report binary by binary (render.json.write_model); what it writes is one JSON
    document equal to the library's report, a non-UTF-8 file name and an error line included."""
    d = tmp_path / "tree"
    d.mkdir()
    shutil.copy2(factory.c("hello.c"), d / "hello")
    shutil.copy2(factory.go("plain"), os.fsdecode(bytes(d / "app") + b"\xff"))
    proc = cli("--json", str(d), str(tmp_path / "missing"))
    assert proc.returncode == 2
    assert proc.stdout.count("\n") == 1
    data = json.loads(proc.stdout)
    expected = scan([d, tmp_path / "missing"], jobs=1).to_json()
    expected["binaries"] = sorted(expected["binaries"], key=lambda b: b["path"])
    data["binaries"] = sorted(data["binaries"], key=lambda b: b["path"])
    assert data == expected  # (the name's \udcff escape reads back as the surrogate os.fsdecode gave the library)
    assert len(data["binaries"]) == 2 and data["errors"][0]["error"] == "no such file"


_TERMINATE_EARLY = """
import signal, sys, time
import depfree.scan.engine as engine
from depfree.cli.common import _on_sigterm
from depfree.model import Binary, to_json
from depfree.options import Options
from depfree.scan.engine import Engine
from depfree.sources.archive import Limits
real = engine._init_worker
def slow_init(options):  # the worker is slow to start, as on a loaded machine
    time.sleep(0.5)
    real(options)
engine._init_worker = slow_init
signal.signal(signal.SIGTERM, _on_sigterm)  # what friendly_errors installs in the CLI's process
e = Engine(2, Options(), Limits(), None)
e.close()  # Pool.terminate: SIGTERM to workers that have not run their initializer yet
print("closed")
"""


def test_a_pool_terminated_before_its_workers_started_prints_nothing() -> None:
    """A verb that ends at once (a missing input) terminates a pool whose forked workers may still carry the CLI's
    SIGTERM handler: the signal waits, blocked, until the worker's initializer restores the default, so the worker
    dies quietly instead of printing a `Terminated` traceback."""
    proc = subprocess.run([sys.executable, "-c", _TERMINATE_EARLY], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "closed"
    assert "Traceback" not in proc.stderr and "Terminated" not in proc.stderr, proc.stderr


def test_a_file_gone_since_the_walk_is_that_file_s_error(tmp_path: Path) -> None:
    """A tree changing while it is scanned: a file removed after the walk found it is an error of that file (as
    `cat` would say: No such file or directory), and a later file of the same size still gets its own analysis
    although the copy detection can no longer read the one that went away."""
    from depfree.scan.engine import Engine
    from depfree.sources.archive import Limits
    from depfree.sources.blob import Blob

    a, b, c = (tmp_path / n for n in ("a", "b", "c"))
    for p in (a, b, c):
        shutil.copy("/bin/true", p)
    size = a.stat().st_size
    engine = Engine(1, Options(), Limits(), None)
    try:
        first = engine.submit(Blob.of_file(str(a), size), str(a))
        a.unlink()  # gone: the copy detection cannot sample it when b, of the same size, comes
        second = engine.submit(Blob.of_file(str(b), size), str(b))
        c.unlink()  # gone before its own analysis
        third = engine.submit(Blob.of_file(str(c), size), str(c))
        (ours,), error = second.get()
        assert error is None and ours.path == str(b) and ours.format == "elf"
        assert first.get()[0][0].path == str(a)
        assert third.get() == ([], "could not be read: No such file or directory")
    finally:
        engine.close()


def test_scan_raises_the_young_gc_threshold_while_it_runs(inputs: dict[str, Path]) -> None:
    """The main process keeps every result until the report is written, so a scan collects less often while it
    runs (scan.engine.SCAN_GC_THRESHOLD) and puts the caller's thresholds back when it ends, even when stopped
    early; thresholds someone else changed meanwhile are left alone."""
    import gc

    from depfree.scan import iter_scan
    from depfree.scan.engine import SCAN_GC_THRESHOLD

    before = gc.get_threshold()
    it = iter_scan([str(inputs["dir"])], jobs=1)
    next(it)
    assert gc.get_threshold() == (max(SCAN_GC_THRESHOLD, before[0]), *before[1:])
    list(it)
    assert gc.get_threshold() == before
    it = iter_scan([str(inputs["dir"])], jobs=1)
    next(it)
    it.close()  # a consumer that stops early (Ctrl-C, a failed check)
    assert gc.get_threshold() == before
    it = iter_scan([str(inputs["dir"])], jobs=1)
    next(it)
    try:
        gc.set_threshold(1234, 5, 6)
        list(it)
        assert gc.get_threshold() == (1234, 5, 6)
    finally:
        gc.set_threshold(*before)
