"""Release over release: what changed between two SBOMs — components added, removed and changed in version, and
each binary's needs that changed (a NEEDED library added or dropped, the minimum glibc raised, another interpreter,
runtime files). Either side is an SBOM built now or a CycloneDX JSON document written by ``depfree sbom``."""

from __future__ import annotations

import json
from typing import Any

from depfree.dataclass import dataclass, field
from depfree.errors import InputError
from depfree.sbom.model import Sbom

SCHEMA = "depfree.sbom-diff/1"


@dataclass
class Item:
    key: str
    name: str
    versions: list[str]
    purls: list[str]
    props: dict[str, list[str]] = field(default_factory=dict)


def inventory_of_sbom(sbom: Sbom) -> dict[str, Item]:
    return _merge((c.key, c.name, c.version, c.purl, c.properties) for c in [sbom.root, *sbom.components])


def inventory_of_cyclonedx(doc: dict[str, Any], path: str) -> dict[str, Item]:
    if doc.get("bomFormat") != "CycloneDX":
        raise InputError(f"{path}: expected a CycloneDX JSON document (bomFormat CycloneDX), found "
                         f"{str(doc.get('bomFormat') or doc.get('spdxVersion') or 'another JSON document')[:40]}")
    rows = []
    root = (doc.get("metadata") or {}).get("component")
    for c in ([root] if isinstance(root, dict) else []) + list(doc.get("components") or []):
        props = [(str(p.get("name")), str(p.get("value", ""))) for p in c.get("properties") or []]
        rows.append((_key(str(c.get("bom-ref", "")), str(c.get("name", "")), props), str(c.get("name", "")),
                     str(c.get("version", "")), c.get("purl"), props))
    return _merge(rows)


def _key(ref: str, name: str, props: list[tuple[str, str]]) -> str:
    """The cross-release key of a component read back from a document (as build.py makes them)."""
    d = dict(props)
    if ref.startswith("file:") and "depfree:path" in d:
        return f"file:{d['depfree:path']}" + (f"[{d['depfree:slice']}]" if "depfree:slice" in d else "")
    if ref.startswith("go:stdlib"):
        return "go:stdlib"
    if ref.startswith("go:"):
        return "go:" + d.get("depfree:go.module", name)
    if ref.startswith("needs:"):
        return f"needs:{name}"
    return ref


def _merge(rows: Any) -> dict[str, Item]:
    out: dict[str, Item] = {}
    for key, name, version, purl, props in rows:
        item = out.setdefault(key, Item(key, name, [], []))
        if version and version not in item.versions:
            item.versions.append(version)
        if purl and purl not in item.purls:
            item.purls.append(purl)
        for n, v in props:
            item.props.setdefault(n, [])
            if v not in item.props[n]:
                item.props[n].append(v)
    for item in out.values():
        item.versions.sort()
        item.purls.sort()
    return out


NEED_PROPS = {"needed": "depfree:needed", "interpreter": "depfree:interpreter", "min_glibc": "depfree:min_glibc"}


def _files(item: Item) -> set[str]:
    return {v.split(" (", 1)[0] for n, vs in item.props.items() if n.startswith("depfree:needs.") for v in vs
            if "(required" in v}


def diff(old: dict[str, Item], new: dict[str, Item], old_name: str, new_name: str) -> dict[str, Any]:
    def brief(i: Item) -> dict[str, Any]:
        return {"key": i.key, "name": i.name, "version": ", ".join(i.versions), "purl": ", ".join(i.purls)}

    added = [brief(new[k]) for k in sorted(new.keys() - old.keys())]
    removed = [brief(old[k]) for k in sorted(old.keys() - new.keys())]
    changed = [{"key": k, "name": new[k].name, "old": ", ".join(old[k].versions), "new": ", ".join(new[k].versions)}
               for k in sorted(old.keys() & new.keys()) if old[k].versions != new[k].versions]
    needs = []
    for k in sorted(old.keys() & new.keys()):
        if not k.startswith("file:"):
            continue
        o, n = old[k], new[k]
        entry: dict[str, Any] = {"binary": k.removeprefix("file:")}
        on, nn = set(o.props.get(NEED_PROPS["needed"], [])), set(n.props.get(NEED_PROPS["needed"], []))
        if on != nn:
            entry["needed"] = {"added": sorted(nn - on), "removed": sorted(on - nn)}
        for what in ("interpreter", "min_glibc"):
            ov, nv = o.props.get(NEED_PROPS[what], []), n.props.get(NEED_PROPS[what], [])
            if ov != nv:
                entry[what] = {"old": ", ".join(ov) or None, "new": ", ".join(nv) or None}
        of, nf = _files(o), _files(n)
        if of != nf:
            entry["files"] = {"added": sorted(nf - of), "removed": sorted(of - nf)}
        if len(entry) > 1:
            needs.append(entry)
    for k in sorted(new.keys() - old.keys()):  # a new binary: all its needs are new
        if k.startswith("file:") and (new[k].props.get(NEED_PROPS["needed"]) or new[k].props.get("depfree:min_glibc")):
            needs.append({"binary": k.removeprefix("file:"), "new_binary": True,
                          "needed": {"added": sorted(new[k].props.get(NEED_PROPS["needed"], [])), "removed": []},
                          "min_glibc": {"old": None, "new": ", ".join(new[k].props.get("depfree:min_glibc", []))
                                        or None}})
    return {"schema": SCHEMA, "old": old_name, "new": new_name, "added": added, "removed": removed,
            "changed": changed, "needs": needs}


def render_text(d: dict[str, Any]) -> list[str]:
    lines = [f"{d['old']} -> {d['new']}: {len(d['added'])} added, {len(d['removed'])} removed, "
             f"{len(d['changed'])} changed in version, {len(d['needs'])} binaries with changed needs"]
    for sign, rows in (("+", d["added"]), ("-", d["removed"])):
        for r in rows:
            version = f" {r['version']}" if r["version"] else ""
            lines.append(f"  {sign} {r['name']}{version}" + (f"  ({r['purl']})" if r["purl"] else ""))
    for r in d["changed"]:
        lines.append(f"  ~ {r['name']} {r['old'] or '(none)'} -> {r['new'] or '(none)'}")
    for n in d["needs"]:
        lines.append(f"  needs of {n['binary']}" + (" (new binary)" if n.get("new_binary") else "") + ":")
        for lib in (n.get("needed") or {}).get("added", []):
            lines.append(f"    + NEEDED {lib}")
        for lib in (n.get("needed") or {}).get("removed", []):
            lines.append(f"    - NEEDED {lib}")
        for what, label in (("min_glibc", "minimum glibc"), ("interpreter", "interpreter")):
            if what in n:
                lines.append(f"    {label}: {n[what]['old'] or '(none)'} -> {n[what]['new'] or '(none)'}")
        for f in (n.get("files") or {}).get("added", []):
            lines.append(f"    + file {f}")
        for f in (n.get("files") or {}).get("removed", []):
            lines.append(f"    - file {f}")
    return lines


def load_side(path: str) -> dict[str, Item] | None:
    """The inventory of a CycloneDX JSON file at ``path``; None when ``path`` is something to scan instead."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1)
            if head != b"{":
                return None
            fh.seek(0)
            doc = json.loads(fh.read(256 << 20))
    except (OSError, UnicodeDecodeError):
        return None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: expected a CycloneDX JSON document, found invalid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a CycloneDX JSON document, found a JSON {type(doc).__name__}")
    return inventory_of_cyclonedx(doc, path)

