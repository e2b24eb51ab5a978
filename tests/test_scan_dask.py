"""``scan --executor dask`` on a real cluster on 127.0.0.1 (a ``dask scheduler`` and two ``dask worker`` processes
started here, and a ``LocalCluster``): the report equals the local pool's byte for byte, a worker killed mid-scan
and a poison input lose nothing else, an unreachable scheduler is one line and exit 2, Ctrl-C cancels the tasks;
``--from`` and ``--format jsonl``; ``sbom`` on the cluster equals the local SBOM byte for byte."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import debian, images
from helpers.factory import Factory

distributed = pytest.importorskip("distributed")

from depfree.render.scan_jsonl import container_line  # noqa: E402
from depfree.scan import iter_scan  # noqa: E402
from depfree.scan_dask import POISON_ENV, iter_scan_dask  # noqa: E402

POISON = "poison.bin"


def cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "depfree", *args], capture_output=True, text=True, check=False,
                          input=stdin, env={**os.environ, **(env or {})}, timeout=300)


@pytest.fixture(scope="module")
def corpus(factory: Factory, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Trees, archives and images from the fixtures; the same Go binary in several of them (analysed once by the
    local pool's content cache, once per input on the cluster)."""
    tmp = tmp_path_factory.mktemp("fleet")
    app, hello = factory.go("plain"), factory.c("hello.c")
    tree = tmp / "tree"
    (tree / "bin").mkdir(parents=True)
    shutil.copy2(app, tree / "bin" / "app")
    os.link(tree / "bin" / "app", tree / "bin" / "app-link")
    shutil.copy2(hello, tree / "bin" / "hello")
    shutil.copy2(factory.go("nettool", cgo=True), tree / "bin" / "nettool")
    tgz = tmp / "app.tar.gz"
    subprocess.run(["tar", "-czf", str(tgz), "-C", str(tree), "bin"], check=True)
    shutil.copy2(tgz, tree / "bundle.tar.gz")  # a nested archive inside the tree
    z = tmp / "app.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(app, "app")
        zf.write(hello, "hello")
    poison = tmp / POISON
    shutil.copy2(hello, poison)
    return {"tree": tree, "tgz": tgz, "zip": z, "layout": images.oci_layout(factory),
            "glibc": images.docker_archive(factory, "glibc"), "deleted": images.docker_archive(factory, "deleted"),
            "oci_tar": images.oci_tar(factory), "missing": tmp / "missing", "poison": poison, "hello": hello}


def fleet(corpus: dict[str, Path]) -> list[str]:
    return [str(corpus[k]) for k in ("tree", "tgz", "missing", "zip", "layout", "glibc", "deleted", "oci_tar")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A scheduler and two workers (each a nanny and its worker process), as separate process groups."""

    def __init__(self, tmp: Path) -> None:
        self.file = tmp / "scheduler.json"
        self.procs: list[subprocess.Popen[bytes]] = []
        dask = [sys.executable, "-m", "dask"]
        env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}  # a poison input: 2 tries
        self._start([*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                     "--scheduler-file", str(self.file)], env)
        self.address = self._address(time.monotonic() + 60)
        worker_env = {**os.environ, POISON_ENV: POISON}  # the documented test hook, for the workers only
        for _ in range(2):
            self._start([*dask, "worker", self.address, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "1",
                         "--no-dashboard", "--local-directory", str(tmp)], worker_env)
        self.client = distributed.Client(self.address, set_as_default=False, timeout="60s")
        self.client.wait_for_workers(2, timeout=120)

    def _address(self, deadline: float) -> str:
        """The scheduler's address from its file, once the file is whole (it exists before it is written)."""
        while True:
            try:
                return str(json.loads(self.file.read_text())["address"])
            except (OSError, ValueError, KeyError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _start(self, cmd: list[str], env: dict[str, str]) -> None:
        self.procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                           start_new_session=True))

    def busy_worker_pid(self) -> int | None:
        """The pid of a worker process that is running a task now."""
        for addr, keys in self.client.processing().items():
            if keys:
                return int(self.client.run(os.getpid, workers=[addr])[addr])
        return None

    def tasks_on_scheduler(self) -> dict[str, str]:
        """Every task the scheduler holds: key -> state."""
        return dict(self.client.run_on_scheduler(
            lambda dask_scheduler: {str(k): ts.state for k, ts in dask_scheduler.tasks.items()}))

    def ran(self, prefix: str) -> bool:
        return bool(self.client.run_on_scheduler(lambda dask_scheduler: prefix in dask_scheduler.task_prefixes))

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            for p in self.procs:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with tempfile.TemporaryDirectory(prefix="depfree-dask-") as tmp:
        c = Cluster(Path(tmp))
        try:
            yield c
        finally:
            c.close()


def local_lines(paths: list[str], **kw: object) -> list[str]:
    return [container_line(r) for r in iter_scan(paths, jobs=2, **kw)]  # type: ignore[arg-type]


def test_cluster_report_is_byte_identical_to_the_local_pool(corpus: dict[str, Path], cluster: Cluster) -> None:
    paths = fleet(corpus)
    local = cli("scan", "--json", *paths)
    remote = cli("scan", "--json", "--executor", "dask", "--scheduler", cluster.address, *paths)
    assert local.returncode == 2 and local.stdout  # the missing input
    assert (remote.returncode, remote.stdout, remote.stderr) == (local.returncode, local.stdout, local.stderr)
    # the fleet really is varied: every kind of container, a nested archive, and the unreadable input
    report = json.loads(local.stdout)
    kinds = {c["kind"] for c in report["containers"]}
    assert {"dir", "tar", "zip", "oci", "docker-archive"} <= kinds
    assert str(corpus["tree"] / "bundle.tar.gz") in [c["path"] for c in report["containers"]]
    assert [e["path"] for e in report["errors"]] == [str(corpus["missing"])]


def test_members_in_batches_and_jsonl(corpus: dict[str, Path], cluster: Cluster) -> None:
    """Batches of 2 members: the tree's and images' analyses go out as their own tasks; same lines as local."""
    paths = fleet(corpus)
    got = [container_line(r) for r in iter_scan_dask(paths, scheduler=cluster.address, batch=2)]
    assert got == local_lines(paths)
    assert cluster.ran("analyse_batch")
    jsonl = cli("scan", "--format", "jsonl", "--executor", "dask", "--scheduler", cluster.address, *paths)
    lines = jsonl.stdout.splitlines()
    assert lines[:-1] == got
    summary = json.loads(lines[-1])
    assert summary["type"] == "summary" and summary["errors"] == 1
    assert summary["containers"] == sum(1 for line in got if json.loads(line)["container"])


def test_worker_killed_mid_scan_loses_nothing(corpus: dict[str, Path], cluster: Cluster) -> None:
    paths = [*fleet(corpus), "/usr/bin"]  # /usr/bin last: hundreds of executables, still running when killed
    killed = None
    got = []
    for r in iter_scan_dask(paths, scheduler=cluster.address, batch=16):
        got.append(container_line(r))
        deadline = time.monotonic() + 30
        while killed is None and time.monotonic() < deadline:
            killed = cluster.busy_worker_pid()
        if killed is not None and killed > 0:
            os.kill(killed, signal.SIGKILL)
            killed = -killed
    assert killed is not None and killed < 0
    assert got == local_lines(paths)
    cluster.client.wait_for_workers(2, timeout=120)  # the nanny restarts it


def test_poison_input_is_its_own_error_and_the_rest_completes(corpus: dict[str, Path], cluster: Cluster) -> None:
    paths = [str(corpus["zip"]), str(corpus["poison"]), str(corpus["glibc"])]
    run = cli("scan", "--format", "jsonl", "--executor", "dask", "--scheduler", cluster.address, *paths)
    assert run.returncode == 2
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert lines[1] == {"type": "container", "container": None, "binaries": [], "errors": [
        {"path": str(corpus["poison"]), "error": "cannot scan: it killed every Dask worker that ran it, up to the "
         "scheduler's allowed-failures (it may crash the analysis or exhaust a worker's memory)"}]}
    others = [paths[0], paths[2]]
    assert [json.dumps(x, ensure_ascii=False, separators=(",", ":")) for x in (lines[0], lines[2])] == \
        local_lines(others)
    assert run.stderr == f"depfree: {corpus['poison']}: {lines[1]['errors'][0]['error']}\n"
    cluster.client.wait_for_workers(2, timeout=120)


def test_interrupt_cancels_the_cluster_tasks_and_exits_130(cluster: Cluster) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "depfree", "scan", "--format", "jsonl", "--executor", "dask",
                             "--scheduler", cluster.address, "/usr/lib/x86_64-linux-gnu", "/usr/bin"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while cluster.busy_worker_pid() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err.splitlines()[-1] == "depfree: interrupted"
    deadline = time.monotonic() + 60
    while cluster.tasks_on_scheduler() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert cluster.tasks_on_scheduler() == {}


def test_interrupt_on_a_terminal_stops_the_local_cluster_quietly(corpus: dict[str, Path]) -> None:
    """Ctrl-C reaches the whole process group (the LocalCluster's workers too): exit 130, one line, nothing left."""
    proc = subprocess.Popen([sys.executable, "-m", "depfree", "scan", "--format", "jsonl", "--executor", "dask",
                             "-j", "2", str(corpus["hello"]), "/usr/bin", "/usr/lib/x86_64-linux-gnu"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the cluster is up and the scan under way
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert json.loads(first)["container"]["path"] == str(corpus["hello"])
    assert (proc.returncode, err) == (130, "depfree: interrupted\n")
    deadline = time.monotonic() + 20
    while (left := subprocess.run(["pgrep", "-a", "-g", str(proc.pid)], capture_output=True, text=True).stdout) \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == ""


def test_local_cluster_from_stdin_equals_local(corpus: dict[str, Path]) -> None:
    paths = [str(corpus["tree"]), str(corpus["glibc"]), str(corpus["zip"])]
    local = cli("scan", "--json", *paths)
    mixed = cli("scan", "--json", "--executor", "dask", "-j", "2", paths[0], "--from", "-",
                stdin="# the fleet\n" + "\n".join(paths[1:]) + "\n\n")  # a comment and blank lines skipped
    assert (mixed.returncode, mixed.stdout, mixed.stderr) == (local.returncode, local.stdout, local.stderr)


def test_check_on_the_cluster_equals_local(corpus: dict[str, Path], cluster: Cluster, tmp_path: Path) -> None:
    listing = tmp_path / "inputs.txt"
    listing.write_text(f"{corpus['glibc']}\n{corpus['tree']}\n")
    local = cli("check", "--format", "json", "--from", str(listing))
    remote = cli("check", "--format", "json", "--from", str(listing), "--executor", "dask", "--scheduler",
                 cluster.address)
    assert local.returncode in (0, 1) and json.loads(local.stdout)["findings"] is not None
    assert (remote.returncode, remote.stdout, remote.stderr) == (local.returncode, local.stdout, local.stderr)


def test_sbom_on_the_cluster_is_byte_identical_to_local(factory: Factory, corpus: dict[str, Path],
                                                          cluster: Cluster) -> None:
    """A tree, an archive and images (one with a dpkg database and os-release, which the SBOM reads from each
    container's filesystem view: it must come back from the workers)."""
    rootfs = debian.rootfs(factory)
    paths = [str(rootfs), str(corpus["tree"]), str(corpus["tgz"]), str(debian.image(factory)), str(corpus["glibc"])]
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    local = cli("sbom", *paths, env=env)
    remote = cli("sbom", paths[0], "--from", "-", "--executor", "dask", "--scheduler", cluster.address, env=env,
                 stdin="\n".join(paths[1:]) + "\n")
    assert local.returncode == 0, local.stderr
    assert (remote.returncode, remote.stdout, remote.stderr) == (local.returncode, local.stdout, local.stderr)
    # what only the containers' views give: the distribution (as the tree's os-release says) and dpkg owners (as
    # dpkg -S over the tree's own database says)
    doc = json.loads(remote.stdout)
    os_release = dict(line.split("=", 1) for line in (rootfs / "usr/lib/os-release").read_text().splitlines()
                      if "=" in line)
    owner = debian.dpkg_search(rootfs, "/lib/x86_64-linux-gnu/libc.so.6")  # as dpkg records it
    assert owner is not None
    image = debian.image(factory).name
    by_ref = {c["bom-ref"]: c for c in doc["components"]}
    for box in ("rootfs", image):  # the tree (a path on the shared filesystem) and the image (its index, sent back)
        osr = by_ref[f"os:{box}"]
        assert (osr["type"], osr["name"], osr["version"]) == (
            "operating-system", os_release["ID"], os_release["VERSION_ID"].strip('"'))
        libc = by_ref[f"file:{box}{'!' if box == image else ''}/lib/x86_64-linux-gnu/libc.so.6"]
        assert libc["purl"].startswith(f"pkg:deb/debian/{owner}@"), libc
    run = cli("sbom", "--diff", "--from", "-", paths[0], stdin=paths[1])
    assert (run.returncode, run.stdout, run.stderr) == (
        2, "", "depfree: --from is for an SBOM of many inputs; --diff takes OLD NEW as arguments\n")


def test_unreachable_scheduler_is_one_line_and_exit_2(corpus: dict[str, Path]) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    run = cli("scan", "--executor", "dask", "--scheduler", address, str(corpus["hello"]),
              env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"})
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.startswith(f"depfree: cannot reach the Dask scheduler at {address} within 2s: ")
    assert len(run.stderr.splitlines()) == 1


def test_scheduler_without_workers_is_one_line_and_exit_2(corpus: dict[str, Path], tmp_path: Path) -> None:
    file = tmp_path / "scheduler.json"
    sched = subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                              "--no-dashboard", "--scheduler-file", str(file)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(file.read_text())["address"]
        run = cli("scan", "--executor", "dask", "--scheduler", address, str(corpus["hello"]),
                  env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"})
    finally:
        os.killpg(sched.pid, signal.SIGKILL)
        sched.wait()
    assert (run.returncode, run.stdout, run.stderr) == (
        2, "", f"depfree: the Dask scheduler at {address} has no workers: none joined within 2s\n")


@pytest.mark.parametrize(("args", "message"), [
    (["--scheduler", "tcp://127.0.0.1:1", "X"], "depfree: --scheduler is for --executor dask, got --executor local"),
    (["--executor", "dask", "--scheduler", "nonsense", "X"],
     "depfree: --scheduler expects an address like tcp://HOST:8786, got 'nonsense'"),
    (["--from", "/nonexistent/list"], "depfree: --from /nonexistent/list: expected a text file of paths, one a "
                                      "line: No such file or directory"),
    ([], "depfree: expected at least one PATH (or --from FILE), got none"),
])
def test_usage_errors(args: list[str], message: str) -> None:
    run = cli("scan", *args)
    assert (run.returncode, run.stdout, run.stderr) == (2, "", message + "\n")


def test_debs_given_together_share_their_shlibs_on_the_cluster(factory: Factory, cluster: Cluster) -> None:
    """hugo's .deb with the .debs of its libraries: on the cluster too, libwebp.so.7 is mapped by libwebp7's own
    shlibs/symbols (dpkg-deb -I names the package) and found in hugo's Depends; the report equals the local one."""
    from helpers import packages

    debs = [str(packages.deb(factory, n)) for n in ("hugo", "libwebp7", "libsass1")]
    local = cli("scan", "--json", *debs)
    remote = cli("scan", "--json", "--executor", "dask", "--scheduler", cluster.address, *debs)
    assert (remote.returncode, remote.stdout) == (local.returncode, local.stdout)
    shlibs = subprocess.run(["dpkg-deb", "-I", debs[1], "shlibs"], capture_output=True, text=True).stdout
    owner = next(line.split()[2] for line in shlibs.splitlines() if line.split()[:2] == ["libwebp", "7"])
    hugo = next(b for b in json.loads(remote.stdout)["binaries"] if b["path"] == f"{debs[0]}!/usr/bin/hugo")
    host = {h["name"]: h for h in hugo["resolution"]["host"] if h["kind"] == "library"}
    assert host["libwebp.so.7"]["detail"] == f"← {owner} (Depends ✓)"
    assert any(e["name"] == f"the shlibs/symbols of {Path(debs[1]).name}" for e in host["libwebp.so.7"]["evidence"])


def test_a_local_cluster_keeps_unawaited_coroutine_warnings_out_of_the_output() -> None:
    """Ctrl-C stops the cluster under tornado's feet: the RuntimeWarning for a coroutine it never awaited is filtered
    in this process and in each worker's interpreter from its start (PYTHONWARNINGS before the spawn)."""
    import warnings

    from depfree.scan_dask import UNAWAITED_QUIET, connect

    client, cluster = connect(None, 1)
    try:
        options = client.run(lambda: __import__("sys").warnoptions)
        assert options and all(UNAWAITED_QUIET in opts for opts in options.values())
        with warnings.catch_warnings(record=True) as seen:
            warnings.warn("coroutine 'Future._result' was never awaited", RuntimeWarning, stacklevel=1)
        assert seen == []
    finally:
        client.close()
        cluster.close()
