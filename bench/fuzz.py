#!/usr/bin/env python3
"""The long fuzz run: ``bench/fuzz.py --budget 100000 --seed 1 --jobs 2 --out /tmp/fuzz17``.

Mutates the seed corpus (tests/fuzz/seeds.py: fixture-factory binaries, GOROOT debug/* and archive/* testdata,
hostile archives made here) with the strategies of tests/fuzz/engine.py and runs every mutant in its own child with
a time limit and an RSS limit (tests/fuzz/harness.py). Prints progress every minute, and at the end a summary (also
written as ``summary.json`` in ``--out``); findings are kept under ``--out/findings`` to become regression inputs
in tests/data/fuzz/. The same engine runs with a small budget in the test suite (tests/test_fuzz.py).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from fuzz import campaign  # noqa: E402
from fuzz.seeds import factory_seeds, goroot_seeds, hostile_seeds, small_app  # noqa: E402
from helpers.factory import Factory  # noqa: E402


def corpus() -> list:  # type: ignore[type-arg]
    f = Factory()
    seeds = factory_seeds(f) + goroot_seeds(f.goroot())
    return seeds + hostile_seeds(small_app(seeds))


def report(s: campaign.Summary, budget: int, seed: int, n_seeds: int) -> dict[str, object]:
    return {"inputs": s.inputs, "budget": budget, "seed": seed, "seeds": n_seeds, "wall_seconds": round(s.wall),
            "status": dict(s.by_status), "strategies": dict(s.by_strategy), "per_seed": dict(s.by_seed),
            "findings": s.findings, "max_rss_ratio": round(s.max_rss_ratio, 3),
            "max_rss_input": s.max_rss_input, "max_seconds": s.max_seconds}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=int, default=100_000, help="number of mutants (default 100000)")
    ap.add_argument("--seed", type=int, default=1, help="campaign seed: same seed, same mutants")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per input before it is a hang")
    ap.add_argument("--out", type=Path, default=Path("/tmp/depfree-fuzz"))
    ap.add_argument("--replay", type=int, metavar="INDEX", help="write mutant INDEX of --seed to --out and stop")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    seeds = corpus()
    if args.replay is not None:
        s, strategy, detail, data = campaign.make_mutant(seeds, args.replay, args.seed)
        args.out.write_bytes(data)
        print(f"{args.out}: mutant {args.replay} of seed {args.seed}: {s.name} {strategy} {detail} ({s.mode})")
        return 0
    print(f"fuzz: {len(seeds)} seeds ({sum(s.mode == 'inspect' for s in seeds)} binaries, "
          f"{sum(s.mode == 'scan' for s in seeds)} archives), budget {args.budget}, seed {args.seed}, "
          f"jobs {args.jobs}", flush=True)
    last = [0.0]

    def progress(s: campaign.Summary) -> None:
        if time.monotonic() - last[0] >= 60:
            last[0] = time.monotonic()
            print(f"fuzz: {s.inputs}/{args.budget} in {s.wall:.0f} s, {dict(s.by_status)}, "
                  f"max RSS ratio {s.max_rss_ratio:.2f}, findings {len(s.findings)}", flush=True)

    s = campaign.run(seeds, args.budget, args.seed, args.jobs, args.timeout, args.out, progress)
    out = report(s, args.budget, args.seed, len(seeds))
    (args.out / "summary.json").write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k not in ("per_seed", "max_rss_input")}, indent=1))
    for f in s.findings:
        print(f"FINDING {f['status']}: #{f['index']} {f['seed']} {f['strategy']} {f['detail']}: {f['outcome']}")
    return 1 if s.findings else 0


if __name__ == "__main__":
    sys.exit(main())
