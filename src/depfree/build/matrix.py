"""The build matrix: build every variant, analyse each binary, prove it in the sandbox, time it, recommend one.

One :class:`VariantResult` per variant holds the build (command, seconds, skipped/failed and why), the static facts
(:mod:`depfree.build.facts`), each requested target's verdict joined with the sandbox run in the root that stands for
that target (:func:`proof_root`), the traced runs in all four roots, the timed runs, and how long each phase took.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from depfree.build.facts import Facts, facts_of
from depfree.build.proof import ROOTS, RootRun, Timing, sandbox_runs, timed_runs
from depfree.build.recommend import Recommendation, recommend
from depfree.build.runner import BuildResult, build_variant, check_module
from depfree.build.variants import Variant, builtin, resolve
from depfree.dataclass import dataclass, field
from depfree.errors import UsageError
from depfree.model import to_json as model_json
from depfree.sandbox.runner import Sandbox, SandboxError
from depfree.targets.profiles import Profile, load_profiles, select
from depfree.toolchains import GoToolchain

SCHEMA = "depfree.build/1"
DEFAULT_TARGETS = ["scratch", "alpine-3.20", "debian-12", "centos-7"]
CA_FILES = ("/etc/ssl/certs", "/etc/pki/tls/certs")
FLOOR_BINARY = "/bin/busybox"  # Debian busybox-static


@dataclass
class TargetResult:
    target: str
    verdict: str  # the static judgement: ok | warn | fail
    reasons: list[dict[str, str]]
    root: str | None  # the sandbox root that stands for this target (None: cannot run it on this host)
    run: str  # passed | failed | not run (why)
    passes: bool
    note: str = ""  # what the run does not prove

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class VariantResult:
    variant: Variant
    build: BuildResult
    facts: Facts | None = None
    targets: list[TargetResult] = field(default_factory=list)
    runs: list[RootRun] = field(default_factory=list)
    timing: Timing | None = None
    analysis_seconds: float = 0.0
    runs_seconds: float = 0.0  # the traced runs and the timed runs
    timed_seconds: float = 0.0  # the timed runs alone
    pkg: str = "."
    output: str = "app"  # the binary's file name

    @property
    def name(self) -> str:
        return self.variant.name

    def startup_net(self, floor: Timing | None) -> float | None:
        """The median start-up time less the sandbox floor's median (seconds), when both were taken in one root."""
        if self.timing is None or floor is None or floor.root != self.timing.root:
            return None
        return max(0.0, self.timing.median - floor.median)

    @property
    def passes_all(self) -> bool:
        return self.build.status == "built" and bool(self.targets) and all(t.passes for t in self.targets)

    def to_json(self, kept: bool = True, floor: Timing | None = None) -> dict[str, Any]:
        facts = self.facts.to_json() if self.facts else None
        if facts is not None and not kept:
            facts["path"] = None  # the build directory was removed
        build = self.build.to_json()
        if not kept:
            build["path"] = None
        return {"variant": self.variant.to_json(), "build": build, "facts": facts,
                "targets": [t.to_json() for t in self.targets], "runs": [r.to_json() for r in self.runs],
                "timing": self.timing.to_json() if self.timing else None,
                "startup_net": None if (net := self.startup_net(floor)) is None else round(net, 4),
                "seconds": {"build": round(self.build.seconds, 3), "analysis": round(self.analysis_seconds, 3),
                            "runs": round(self.runs_seconds, 3), "timed_runs": round(self.timed_seconds, 3)},
                "passes_all": self.passes_all, "command": self.variant.command_line(self.pkg, self.output)}


@dataclass
class Matrix:
    module: str
    pkg: str
    go: str  # the toolchain's release, go1.27.3
    targets: list[str]
    run_args: list[str]
    results: list[VariantResult] = field(default_factory=list)
    recommendation: Recommendation | None = None
    wall_seconds: float = 0.0
    build_phase_seconds: float = 0.0  # builds, with analysis and traced runs overlapping them
    floor: Timing | None = None  # the sandbox's own cost: a static program that exits at once, timed the same way
    kept: str | None = None
    sandbox: str = "used"  # used | off (--no-run) | unavailable: why
    reproductions: list[Any] = field(default_factory=list)  # depfree.build.reproduce.Reproduction

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "module": self.module, "pkg": self.pkg, "go": self.go, "targets": self.targets,
                "run_args": self.run_args, "sandbox": self.sandbox, "kept": self.kept,
                "variants": [r.to_json(kept=self.kept is not None, floor=self.floor) for r in self.results],
                "recommendation": self.recommendation.to_json() if self.recommendation else None,
                "reproducibility": [r.to_json() for r in self.reproductions] or None,
                "sandbox_floor": self.floor.to_json() if self.floor else None,
                "seconds": {"wall": round(self.wall_seconds, 3), "build_phase": round(self.build_phase_seconds, 3),
                            "build": round(sum(r.build.seconds for r in self.results), 3),
                            "analysis": round(sum(r.analysis_seconds for r in self.results), 3),
                            "runs": round(sum(r.runs_seconds for r in self.results), 3)}}


def proof_root(p: Profile) -> str | None:
    """The sandbox root that stands for a Linux target: its libc's root, or the empty (or CA-only) root when the
    target has no libc at all. None for targets the host cannot imitate (other OSes, other architectures)."""
    if p.os != "linux":
        return None
    if p.libc == "none":
        return "scratch+certs" if any(f.startswith(CA_FILES) for f in p.files) else "scratch"
    return {"musl": "musl", "glibc": "glibc"}.get(p.libc)


def _target_results(facts: Facts, profiles: dict[str, Profile], runs: list[RootRun]) -> list[TargetResult]:
    by_root = {r.root: r for r in runs}
    out = []
    for t in facts.binary.targets or []:
        p = profiles[t.target]
        root = proof_root(p)
        run = by_root.get(root) if root else None
        if root is None or facts.binary.arch not in p.arch:
            status, ok = "not run (the host cannot imitate this target)", True
        elif run is None:
            status, ok = "not run", True
        elif run.passed:
            status, ok = "passed", True
        else:
            code = f" (exit {run.exit_code})" if run.started and run.exit_code is not None else ""
            status, ok = f"failed: {run.failure}{code}", False
        note = (f"the run used this host's glibc; glibc {p.libc_version} is judged from the symbol versions"
                if root == "glibc" and p.libc_version else "")
        out.append(TargetResult(target=t.target, verdict=t.verdict, reasons=model_json(t.reasons), root=root,
                                run=status, passes=ok and t.verdict != "fail", note=note))
    return out


def variants_for(names: list[str] | None) -> list[Variant]:
    """The variants to build: the named ones (each may be a '+' combination), or every variant of the table."""
    if not names:
        return list(builtin().values())
    seen: dict[str, Variant] = {}
    for n in names:
        v = resolve(n)
        seen.setdefault(v.name, v)
    return list(seen.values())


@dataclass
class _Plan:
    """What every step of one matrix needs: the toolchain and module, the targets, the run settings, the sandbox
    (None when off or found unavailable) and where progress goes."""

    tc: GoToolchain
    mod: Path
    pkg: str
    names: list[str]
    profiles: dict[str, Profile]
    targets_file: str | None
    run_args: tuple[str, ...]
    runs: int
    timeout: float
    extra_env: Mapping[str, str] | None
    progress: Callable[[str], None] | None
    sandbox: Sandbox | None

    def say(self, what: str) -> None:
        if self.progress:
            self.progress(what)


def _prove(plan: _Plan, m: Matrix, res: VariantResult) -> None:
    """Analysis and the traced runs of one built variant; in a worker thread, while the next variant builds."""
    t0 = time.monotonic()
    res.facts = facts_of(res.build.path, plan.names, plan.targets_file, digests=False)
    res.analysis_seconds = time.monotonic() - t0
    if plan.sandbox is not None:
        t0 = time.monotonic()
        try:
            res.runs = sandbox_runs(res.build.path, plan.run_args, ROOTS, plan.timeout, plan.sandbox)
        except SandboxError as exc:
            plan.sandbox, m.sandbox = None, f"unavailable: {exc}"
        res.runs_seconds = time.monotonic() - t0


def _build_all(plan: _Plan, m: Matrix, variants: list[Variant], outdir: Path) -> None:
    """Every variant built in turn; each built one proved in a worker thread while the next builds."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = []
        for v in variants:
            plan.say(f"building {v.name}")
            exe = Path(plan.pkg.rstrip("/")).name if plan.pkg not in (".", "./") else plan.mod.name
            res = VariantResult(v, build_variant(v, plan.tc, plan.mod, plan.pkg, outdir / v.name / exe,
                                                 extra_env=plan.extra_env), pkg=plan.pkg, output=exe)
            m.results.append(res)
            if res.build.status == "built":
                pending.append(pool.submit(_prove, plan, m, res))
        for f in pending:
            f.result()


def _time_all(plan: _Plan, m: Matrix) -> None:
    """The timed runs, one after another with nothing else running (no build, no worker thread), after
    the sandbox floor: busybox-static, which exits at once (its applet name is not the file's)."""
    if plan.sandbox is None or not any(r.runs for r in m.results):
        return
    if os.path.isfile(FLOOR_BINARY):
        m.floor = timed_runs(FLOOR_BINARY, "scratch", plan.runs, (), plan.timeout, plan.sandbox)
    for res in m.results:
        first = next((r.root for r in res.runs if r.passed), None)
        if first is None:
            continue
        plan.say(f"timing {res.name} in {first}")
        t0 = time.monotonic()
        res.timing = timed_runs(res.build.path, first, plan.runs, plan.run_args, plan.timeout, plan.sandbox)
        res.timed_seconds = time.monotonic() - t0
        res.runs_seconds += res.timed_seconds


def _reproduce_all(plan: _Plan, m: Matrix) -> None:
    from depfree.build.reproduce import reproduce

    for res in m.results:
        if res.build.status == "built":
            plan.say(f"rebuilding {res.name} elsewhere")
            m.reproductions.append(reproduce(res.variant, plan.tc, plan.mod, plan.pkg, extra_env=plan.extra_env))


def run_matrix(module: str | os.PathLike[str], tc: GoToolchain, *, pkg: str = ".", variants: list[Variant],
               targets: list[str] | None = None, targets_file: str | None = None, run_args: tuple[str, ...] = (),
               runs: int = 3, timeout: float = 10.0, keep: str | None = None, sandbox: bool = True,
               extra_env: Mapping[str, str] | None = None, reproducible: bool = False,
               progress: Callable[[str], None] | None = None) -> Matrix:
    """Build, analyse, prove and time every variant; then recommend one (see :mod:`depfree.build.recommend`). The
    sandbox roots are built once for the whole matrix (:class:`~depfree.sandbox.runner.Sandbox`)."""
    mod = check_module(module, pkg)
    if runs < 1:
        raise UsageError(f"--runs must be 1 or more, got {runs}")
    profiles = load_profiles(targets_file)
    names = [p.name for p in select(profiles, targets or DEFAULT_TARGETS)]
    m = Matrix(module=str(mod), pkg=pkg, go=tc.release or tc.version, targets=names, run_args=list(run_args),
               sandbox="used" if sandbox else "off")
    t_start = time.monotonic()
    outdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="depfree-build-"))
    if keep:
        outdir.mkdir(parents=True, exist_ok=True)
        m.kept = str(outdir.resolve())
    shared = Sandbox()
    plan = _Plan(tc=tc, mod=mod, pkg=pkg, names=names, profiles=profiles, targets_file=targets_file,
                 run_args=run_args, runs=runs, timeout=timeout, extra_env=extra_env, progress=progress,
                 sandbox=shared if sandbox else None)
    try:
        _build_all(plan, m, variants, outdir)
        m.build_phase_seconds = time.monotonic() - t_start
        _time_all(plan, m)
        for res in m.results:
            if res.facts is not None:
                res.targets = _target_results(res.facts, profiles, res.runs)
        m.recommendation = recommend(m.results, names)
        if reproducible:
            _reproduce_all(plan, m)
    finally:
        shared.close()
        if not keep:
            shutil.rmtree(outdir, ignore_errors=True)
    m.wall_seconds = time.monotonic() - t_start
    return m
