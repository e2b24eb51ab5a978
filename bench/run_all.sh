#!/usr/bin/env bash
# Run every bench/bench_*.py (or those named: bench/run_all.sh scan inspect scaling copies); each writes its table to
# bench/results/<name>.md, and bench/RESULTS.md's summary is taken from those files, each number with its command.
# Extra arguments after `--` go to every script (e.g. bench/run_all.sh scan inspect -- --runs 5).
# The machine is shared: run it when `uptime` shows the lowest load, and compare ratios and CPU times within a run.
set -euo pipefail
cd "$(dirname "$0")/.."
names=()
while [[ $# -gt 0 && "$1" != "--" ]]; do names+=("$1"); shift; done
[[ "${1:-}" == "--" ]] && shift
if [[ ${#names[@]} -eq 0 ]]; then
    scripts=(bench/bench_*.py)
else
    scripts=()
    for n in "${names[@]}"; do scripts+=("bench/bench_$n.py"); done
fi
status=0
uptime
for script in "${scripts[@]}"; do
    echo "== $script ($(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1 /proc/loadavg))"
    python3 "$script" "$@" || { echo "$script failed" >&2; status=1; }
done
uptime
exit "$status"
