"""The one line that says what a binary's verdict in its package rests on (``scan``, ``inspect --root``): what is
missing from the package first, then the machine's part, in the words of the package's context rule."""

from __future__ import annotations

from depfree.model_verdicts import HostItem, MissingItem, Resolution
from depfree.targets.context import rules


def summary_line(res: Resolution) -> str:
    """What the verdict of ``res`` rests on, in words: the missing parts first, then the machine's part."""
    rule = rules().get(res.context or "app", rules()["app"])
    parts = []
    miss = res.missing or []
    breaks = [m for m in miss if m.severity == "fail"]
    later = [m for m in miss if m.severity != "fail"]
    if breaks:
        parts.append(f"missing from the {rule.noun}: " + ", ".join(_label(m) for m in breaks))
    if later:
        parts.append(f"missing from the {rule.noun}, needed when used: " + ", ".join(_label(m) for m in later))
    unmet = [h for h in res.host or [] if h.status == "unmet"]
    if unmet:
        parts.append("unmet on " + ", ".join(sorted({h.name for h in unmet})) + ": "
                     + "; ".join(h.why for h in unmet[:3]))
    needs = [h for h in res.host or [] if h.status != "unmet" and h.kind not in ("kernel", "cpu")]
    if needs:
        groups: dict[str, list[str]] = {}
        for h in needs:
            groups.setdefault(_group(h), []).append(_label(h))
        shown = []
        for detail, names in groups.items():
            more = f" +{len(names) - 6} more" if len(names) > 6 else ""
            shown.append(", ".join(names[:6]) + more + (f" ({detail})" if detail else ""))
        parts.append("needs from the machine: " + "; ".join(shown))
    if not parts:
        return f"everything it needs is in the {rule.noun}"
    return "; ".join(parts)


def _group(item: MissingItem | HostItem) -> str:
    """Items shown together: those allowed by the same wheel tag, those provided by the runtime."""
    detail = item.detail or ""
    if detail.startswith("allowed by "):
        return detail
    if isinstance(item, HostItem) and item.status == "provided":
        return "written by the container runtime"
    return ""


def _label(item: MissingItem | HostItem) -> str:
    name = item.name
    if item.kind == "interpreter":
        name += " (interpreter)"
    detail = item.detail or ""
    if item.kind == "library" and detail and not _group(item):
        name += f" {detail}" if detail.startswith("←") else f" ({detail})"
    return name
