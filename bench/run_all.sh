#!/usr/bin/env bash
# Run every bench/bench_*.py; each writes its table to bench/results/<name>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for script in bench/bench_*.py; do
    echo "== $script"
    python3 "$script" "$@" || { echo "$script failed" >&2; status=1; }
done
exit "$status"
