"""The recommendation: the smallest built variant that passes every requested target — the judge says it is not a
failure there and, where the host can imitate the target, the sandbox run in that target's root passed — with the
``go build`` command line that produces it, and for every other variant why it was not chosen."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from depfree.dataclass import dataclass, field

if TYPE_CHECKING:
    from depfree.build.matrix import VariantResult


def why_not(r: VariantResult) -> str:
    """One line: why this variant does not pass every target."""
    if r.build.status != "built":
        return f"{r.build.status}: {r.build.reason.splitlines()[-1] if r.build.reason else 'no reason given'}"
    parts = []
    for t in r.targets:
        if t.passes:
            continue
        if t.verdict == "fail":
            msg = next((x["message"] for x in t.reasons if x["severity"] == "fail"), "fails")
            parts.append(f"{t.target}: {msg}")
        else:
            parts.append(f"{t.target}: sandbox {t.root} run {t.run}")
    return "; ".join(parts) or "passes every target"


@dataclass
class Rejected:
    variant: str
    why: str
    size: int | None

    def to_json(self) -> dict[str, Any]:
        return {"variant": self.variant, "why": self.why, "size": self.size}


@dataclass
class Recommendation:
    variant: str | None  # None: no variant passes every target
    targets: list[str]
    why: str
    rejected: list[Rejected] = field(default_factory=list)
    size: int | None = None
    sha256: str | None = None
    warnings: list[str] = field(default_factory=list)
    proven_on: list[str] = field(default_factory=list)
    static_only: list[str] = field(default_factory=list)
    command: str | None = None
    passing: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"variant": self.variant, "targets": self.targets, "why": self.why,
                               "rejected": [r.to_json() for r in self.rejected]}
        if self.variant is not None:
            out.update(size=self.size, sha256=self.sha256, warnings=self.warnings, proven_on=self.proven_on,
                       static_only=self.static_only, command=self.command, passing=self.passing)
        return out


def recommend(results: list[VariantResult], targets: list[str]) -> Recommendation:
    passing = [r for r in results if r.passes_all and r.facts is not None]
    others = [Rejected(r.name, why_not(r), r.facts.binary.size if r.facts else None)
              for r in results if r not in passing]
    if not passing:
        return Recommendation(variant=None, targets=targets, why="no variant passes every target", rejected=others)
    best = min(passing, key=lambda r: (r.facts.binary.size if r.facts else 0, r.name))
    assert best.facts is not None
    proven = [t.target for t in best.targets if t.run == "passed"]
    static_only = [t.target for t in best.targets if t.run != "passed"]
    why = (f"the smallest of {len(passing)} variant{'s' if len(passing) != 1 else ''} passing "
           f"{', '.join(targets)} ({best.facts.binary.size:,} bytes)")
    if proven:
        why += "; started in the sandbox for " + ", ".join(
            f"{t.target} (the {t.root} root" + (f"; {t.note})" if t.note else ")") for t in best.targets
            if t.run == "passed")
    if static_only:
        why += f"; judged from its facts only for {', '.join(static_only)}"
    warns = sorted({x["code"] for t in best.targets for x in t.reasons if x["severity"] == "warn"})
    return Recommendation(variant=best.name, targets=targets, why=why, rejected=others, size=best.facts.binary.size,
                          sha256=best.facts.binary.sha256, warnings=warns, proven_on=proven, static_only=static_only,
                          command=best.variant.command_line(best.pkg, best.output),
                          passing=[r.name for r in sorted(passing, key=lambda r: r.facts.binary.size if r.facts
                                                          else 0)])
