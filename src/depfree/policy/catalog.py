"""The rule catalogue (``data/rules.toml``): IDs, names, default severities, summaries and fixes."""

from __future__ import annotations

from functools import lru_cache

from depfree.dataclass import dataclass
from depfree.datafiles import load

SEVERITIES = ("note", "warning", "error")  # in increasing order
DOCS_PATH = "docs/rules/{id}.md"  # in the depfree source tree


@dataclass(frozen=True)
class RuleInfo:
    id: str
    name: str
    severity: str
    summary: str
    fix: str

    @property
    def doc_path(self) -> str:
        return DOCS_PATH.format(id=self.id)


@lru_cache(maxsize=1)
def catalog() -> dict[str, RuleInfo]:
    out = {}
    for rid, entry in load("rules.toml").items():
        out[rid] = RuleInfo(id=rid, name=entry["name"], severity=entry["severity"], summary=entry["summary"],
                            fix=entry["fix"])
    return out


def resolve(ref: str) -> RuleInfo | None:
    """A rule by ID (``DF004``) or name (``cgo-enabled``)."""
    cat = catalog()
    if ref.upper() in cat:
        return cat[ref.upper()]
    for info in cat.values():
        if info.name == ref:
            return info
    return None


def rank(severity: str) -> int:
    return SEVERITIES.index(severity)
