"""The fuzz suite in CI: a bounded campaign of the mutation engine (tests/fuzz/) over real seeds — fixture-factory
binaries (Go for Linux, Windows and macOS; C with gcc and mingw; Rust), Go's own debug/* and archive/* testdata
and hostile archives made here — each input in a child process with a time and an RSS limit. It must be clean: no
crash (an exception that is not a DepfreeError), no hang, no blow-up (peak RSS > 2 x size + 200 MiB).

Every input a campaign ever found is kept in tests/data/fuzz/ and replayed here. The long run is
``bench/fuzz.py --budget 100000`` (results in bench/results/fuzz.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fuzz import campaign
from fuzz.engine import STRATEGIES, fields_of, mutate, rng_for
from fuzz.harness import run_path
from fuzz.seeds import Seed, factory_seeds, goroot_seeds, hostile_seeds, small_app
from helpers.factory import Factory

DATA = Path(__file__).parent / "data" / "fuzz"
CI_BUDGET = int(os.environ.get("DEPFREE_FUZZ_BUDGET", "2000"))

# regression input -> how depfree must read it (scan for archives, inspect for binaries)
REGRESSIONS = {
    "zip-version-7.4.zip": "scan",  # NotImplementedError from zipfile (a version field flipped)
    "zip-empty-name.zip": "scan",  # IndexError from ZipInfo.is_dir on an empty name
    "tar-sparse-truncated.tar": "scan",  # IndexError from tarfile's sparse header reader (the image sniffing path)
}


@pytest.fixture(scope="module")
def seeds(factory: Factory) -> list[Seed]:
    found = factory_seeds(factory) + goroot_seeds(factory.goroot())
    return found + hostile_seeds(small_app(found))


def test_the_corpus_covers_every_format(seeds: list[Seed]) -> None:
    binaries = [s for s in seeds if s.mode == "inspect"]
    heads = {s.data[:2] for s in binaries}
    assert b"\x7fE" in heads and b"MZ" in heads and (b"\xcf\xfa" in heads or b"\xca\xfe" in heads)
    assert any(s.name.startswith("GOROOT/src/debug/gosym") for s in seeds)
    assert any(s.name.startswith("GOROOT/src/archive/tar") for s in seeds)
    assert any(s.name.startswith("hostile/") for s in seeds)
    assert all(fields_of(s.data) for s in binaries if s.data[:4] == b"\x7fELF")


def test_mutants_are_deterministic(seeds: list[Seed]) -> None:
    a = [campaign.make_mutant(seeds, i, 5)[3] for i in range(20)]
    b = [campaign.make_mutant(seeds, i, 5)[3] for i in range(20)]
    assert a == b
    assert len({hash(x) for x in a}) == len(a)  # and different from each other
    data = min((s.data for s in seeds if s.mode == "inspect"), key=len)
    assert {mutate(data, rng_for(1, i), [])[0] for i in range(200)} == set(STRATEGIES)


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regression_inputs(name: str, tmp_path: Path) -> None:
    path = DATA / name
    outcome = run_path(str(path), REGRESSIONS[name], timeout=120, size=path.stat().st_size)
    assert not outcome.finding, outcome


def test_ci_campaign_is_clean(seeds: list[Seed], tmp_path: Path) -> None:
    summary = campaign.run(seeds, CI_BUDGET, seed=17, jobs=2, timeout=120, workdir=tmp_path)
    assert summary.inputs == CI_BUDGET
    assert set(summary.by_strategy) == set(STRATEGIES)
    assert summary.by_status["error"] > 0  # the mutants do reach the error paths
    assert not summary.findings, "\n".join(
        f"{f['status']} #{f['index']} {f['seed']} {f['strategy']} {f['detail']}: {f['outcome']}"
        for f in summary.findings[:20])
    assert summary.max_rss_ratio <= 1.0
