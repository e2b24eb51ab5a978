"""Policy files: ``depfree.toml``, ``[tool.depfree]`` in ``pyproject.toml``, ``--policy FILE``, and presets.

How they combine — one rule, applied in this order (docs/policy.md):

1. the base: a preset (``--preset`` wins over the file's ``preset =``), which turns on only the rules it lists;
   without a preset, every rule at its catalogue severity (data/rules.toml);
2. the policy file's settings replace the base's (``fail_on``, ``max_glibc``, ``targets``, …);
3. a threshold the file sets (``max_glibc``, ``min_go``, ``targets``, ``allowed_arch``, ``allowed_os``) turns its
   rule (DF003, DF012, DF016, DF017, DF018) on at the catalogue severity, even when the preset left it off;
4. the file's ``[rules]`` table has the last word on each rule it names (a severity, or ``"off"`` — then the run
   says the threshold is ignored, in :attr:`Policy.notes`);
5. ``[[overrides]]`` do the same per path glob; the command line's ``--fail-on`` replaces ``fail_on``.

Every mistake in a policy file is a :class:`~depfree.errors.UsageError` that names the file and line.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from typing import Any

from depfree.dataclass import dataclass, field
from depfree.datafiles import load
from depfree.errors import UsageError
from depfree.policy.catalog import SEVERITIES, catalog, resolve

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KEYS = {"preset", "fail_on", "max_glibc", "min_go", "allowed_arch", "allowed_os", "targets", "targets_file", "rules",
        "overrides", "suppressions", "baseline"}
OVERRIDE_KEYS = {"paths", "rules", "max_glibc", "min_go", "allowed_arch", "allowed_os"}
SUPPRESSION_KEYS = {"rule", "path", "reason"}
_LIST_KEYS = ("allowed_arch", "allowed_os", "targets")
_STR_KEYS = ("preset", "fail_on", "max_glibc", "min_go", "targets_file", "baseline")
# Rules that only make sense once the policy gives them something to compare with.
NEEDS_SETTING = {"DF003": "max_glibc", "DF012": "min_go", "DF016": "targets", "DF017": "allowed_arch",
                 "DF018": "allowed_os"}
THRESHOLD_RULE = {setting: rid for rid, setting in NEEDS_SETTING.items()}


@dataclass
class Suppression:
    rule: str
    path: str
    reason: str


@dataclass
class Override:
    paths: list[str]
    rules: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class Policy:
    rules: dict[str, str]  # rule ID -> severity, or "off"
    fail_on: str = "error"
    max_glibc: str | None = None
    min_go: str | None = None
    allowed_arch: list[str] | None = None
    allowed_os: list[str] | None = None
    targets: list[str] = field(default_factory=list)
    targets_file: str | None = None
    overrides: list[Override] = field(default_factory=list)
    suppressions: list[Suppression] = field(default_factory=list)
    baseline: str | None = None
    source: str = "defaults"
    notes: list[str] = field(default_factory=list)  # why a setting of the policy does nothing, for the report

    def for_path(self, path: str) -> Policy:
        """The policy with the overrides whose globs match ``path`` applied."""
        matching = [o for o in self.overrides if any(_matches(path, g) for g in o.paths)]
        if not matching:
            return self
        rules = dict(self.rules)
        settings: dict[str, Any] = {}
        for o in matching:
            for key in o.settings:  # step 3 of the module's rule, per path
                rid = THRESHOLD_RULE.get(key)
                if rid and rid not in o.rules and rules.get(rid, "off") == "off":
                    rules[rid] = catalog()[rid].severity
            rules.update(o.rules)
            settings.update(o.settings)
        return Policy(**{**self.__dict__, "rules": rules, "overrides": [], **settings})

    def severity(self, rule_id: str) -> str | None:
        sev = self.rules.get(rule_id, "off")
        if sev == "off":
            return None
        needed = NEEDS_SETTING.get(rule_id)
        if needed and not getattr(self, needed):
            return None
        return sev

    def suppression_for(self, rule_id: str, path: str) -> Suppression | None:
        for s in self.suppressions:
            if s.rule == rule_id and _matches(path, s.path):
                return s
        return None

    def describe(self) -> dict[str, Any]:
        return {"source": self.source, "fail_on": self.fail_on,
                "rules": {k: v for k, v in sorted(self.rules.items()) if v != "off"},
                "max_glibc": self.max_glibc, "min_go": self.min_go, "allowed_arch": self.allowed_arch,
                "allowed_os": self.allowed_os, "targets": self.targets, "notes": self.notes}

    def headline(self) -> str:
        """One line naming the policy in force: where it came from, the threshold, the rules on, the settings."""
        on = [rid for rid in sorted(self.rules) if self.severity(rid)]
        settings = [f"{k} {v}" for k, v in (("max_glibc", self.max_glibc), ("min_go", self.min_go)) if v]
        settings += [f"{k} {','.join(v)}" for k, v in (("allowed_arch", self.allowed_arch),
                                                       ("allowed_os", self.allowed_os), ("targets", self.targets)) if v]
        return (f"policy: {self.source}; fail on {self.fail_on}; {len(on)} rules ({', '.join(on) or 'none'})"
                + (f"; {'; '.join(settings)}" if settings else ""))


def _matches(path: str, glob: str) -> bool:
    """A policy glob matches a path as reported (absolute for files found in a directory) or relative to the working
    directory (how a policy file beside ``dist/`` names them: ``dist/debug/*``)."""
    if fnmatch.fnmatch(path, glob):
        return True
    outer, sep, member = path.partition("!")
    full = os.path.abspath(outer)
    cwd = os.getcwd()
    if full.startswith(cwd.rstrip(os.sep) + os.sep):
        rel = os.path.relpath(full, cwd) + sep + member
        return fnmatch.fnmatch(rel, glob) or fnmatch.fnmatch(rel, glob.removeprefix("./"))
    return False


def default_policy() -> Policy:
    return Policy(rules={rid: info.severity for rid, info in catalog().items()})


def preset_names() -> list[str]:
    return sorted(load("presets.toml"))


def preset_policy(name: str) -> Policy:
    presets = load("presets.toml")
    if name not in presets:
        raise UsageError(f"unknown preset {name!r}; known presets: {', '.join(preset_names())}")
    policy = Policy(rules={rid: "off" for rid in catalog()}, source=f"preset {name}")
    _apply(policy, {k: v for k, v in presets[name].items() if k not in ("description", "source")},
           f"preset {name}", "")
    return policy


def find_policy_file(start: str = ".") -> str | None:
    for name in ("depfree.toml", "pyproject.toml"):
        p = os.path.join(start, name)
        if os.path.isfile(p):
            if name == "pyproject.toml":
                try:
                    with open(p, "rb") as fh:
                        if "depfree" not in tomllib.load(fh).get("tool", {}):
                            continue
                except (OSError, tomllib.TOMLDecodeError):
                    continue
            return p
    return None


def load_policy(path: str | None = None, preset: str | None = None, *, discover: bool = True) -> Policy:
    """The policy in force: a preset (or the defaults), with the policy file's settings on top."""
    if path is None and discover:
        path = find_policy_file()
    data: dict[str, Any] = {}
    text = ""
    if path is not None:
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            raise UsageError(f"{path}: cannot read policy file: {exc.strerror or exc}") from None
        text = raw.decode("utf-8", "replace")
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"{path}: not valid TOML: {exc}") from None
        if os.path.basename(path) == "pyproject.toml":
            data = doc.get("tool", {}).get("depfree")
            if data is None:
                raise UsageError(f"{path}: no [tool.depfree] table")
        else:
            data = doc
    base = preset or data.get("preset")
    if base is not None and not isinstance(base, str):
        raise UsageError(f"{path}:{_line(text, 'preset')}: 'preset' must be a string")
    policy = preset_policy(base) if base else default_policy()
    if path is not None:
        _apply(policy, data, path, text)
        shown = os.path.normpath(path)
        policy.source = shown if not base else f"{shown} on preset {base}"
        if preset and data.get("preset") not in (None, preset):
            policy.notes.append(f"--preset {preset} replaces the file's preset {data['preset']!r}")
    return policy


def _line(text: str, key: str, after: int = 0) -> int:
    """The 1-based line where ``key`` is set or opened as a table in ``text`` (0 when not found)."""
    pat = re.compile(rf"^\s*(\[\[?\s*)?[\"']?{re.escape(key)}[\"']?\s*(=|\]|\.)", re.M)
    m = pat.search(text, after)
    return text.count("\n", 0, m.start()) + 1 if m else 0


@dataclass(frozen=True)
class _Entry:
    """Which table of a policy file a check is about: the top level, or the n-th ``[[overrides]]`` (keys are looked
    up from where that table starts, so the line is the table's own)."""

    after: int = 0  # offset in the text where the table starts
    name: str = ""  # "[[overrides]] #2"; "" for the top level
    table: str = ""  # "overrides": its line when the key's own is not found (a table written inline)


TOP = _Entry()


def _where(path: str, text: str, key: str, entry: _Entry = TOP) -> str:
    line = _line(text, key, entry.after) or (_line(text, entry.table) if entry.table else 0)
    where = f"{path}:{line}" if line else path
    return f"{where} (in {entry.name})" if entry.name else where


def _entries(text: str, key: str, count: int) -> list[_Entry]:
    """An :class:`_Entry` for each of the ``count`` tables of ``[[key]]`` (``[[tool.depfree.key]]`` in a
    pyproject.toml); one written inline (``key = [{...}]``) is found from the ``key`` line."""
    pat = re.compile(rf"^\s*\[\[\s*(?:tool\.depfree\.)?[\"']?{re.escape(key)}[\"']?\s*\]\]", re.M)
    starts = [m.start() for m in pat.finditer(text)]
    if len(starts) != count:
        starts = [0] * count
    return [_Entry(at, f"[[{key}]] #{i}", key) for i, at in enumerate(starts, 1)]


def _check_values(data: dict[str, Any], path: str, text: str, entry: _Entry = TOP) -> None:
    """The types and forms of the settings in ``data``: the top level and each ``[[overrides]]`` table alike."""
    for key, value in data.items():
        if key in _STR_KEYS and not isinstance(value, str):
            raise UsageError(f"{_where(path, text, key, entry)}: {key!r} must be a string, found "
                             f"{type(value).__name__}")
        if key in _LIST_KEYS and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise UsageError(f"{_where(path, text, key, entry)}: {key!r} must be a list of strings")
    if "fail_on" in data and data["fail_on"] not in SEVERITIES:
        raise UsageError(f"{_where(path, text, 'fail_on', entry)}: fail_on must be one of {', '.join(SEVERITIES)}, "
                         f"found {data['fail_on']!r}")
    for key in ("max_glibc", "min_go"):
        if key in data and not re.fullmatch(r"(go)?\d+(\.\d+)*", data[key]):
            raise UsageError(f"{_where(path, text, key, entry)}: {key} must be a version like 2.28 / 1.22, found "
                             f"{data[key]!r}")


def _apply(policy: Policy, data: dict[str, Any], path: str, text: str) -> None:
    for key in data:
        if key not in KEYS:
            raise UsageError(f"{_where(path, text, key)}: unknown key {key!r}; expected one of {', '.join(sorted(KEYS))}")
    _check_values(data, path, text)
    if "fail_on" in data:
        policy.fail_on = data["fail_on"]
    for key in ("max_glibc", "min_go"):
        if key in data:
            setattr(policy, key, data[key].removeprefix("go"))
    for key in ("allowed_arch", "allowed_os", "targets", "targets_file", "baseline"):
        if key in data:
            setattr(policy, key, data[key])
    named = _rules(data["rules"], path, text, "rules") if "rules" in data else {}
    for key, rid in THRESHOLD_RULE.items():  # step 3: a threshold turns its rule on
        if data.get(key) and policy.rules.get(rid, "off") == "off" and rid not in named:
            policy.rules[rid] = catalog()[rid].severity
    policy.rules.update(named)  # step 4: [rules] has the last word
    for key, rid in THRESHOLD_RULE.items():
        if data.get(key) and named.get(rid) == "off":
            policy.notes.append(f"{key} is set but {rid} {catalog()[rid].name} is off in [rules] "
                                f"({_where(path, text, rid)}): {key} is ignored")
    if "overrides" in data:
        for o, entry in _tables(data, "overrides", OVERRIDE_KEYS, path, text):
            paths = o.get("paths")
            if not (isinstance(paths, list) and paths and all(isinstance(p, str) for p in paths)):
                raise UsageError(f"{_where(path, text, 'overrides')}: [[overrides]] needs 'paths', a list of globs")
            settings = {k: v for k, v in o.items() if k not in ("paths", "rules")}
            _check_values(settings, path, text, entry)
            policy.overrides.append(Override(paths=paths, rules=_rules(o.get("rules", {}), path, text, "rules", entry),
                                             settings=settings))
    if "suppressions" in data:
        for s, _entry in _tables(data, "suppressions", SUPPRESSION_KEYS, path, text):
            info = resolve(str(s.get("rule", "")))
            if info is None:
                raise UsageError(f"{_where(path, text, 'suppressions')}: suppression names unknown rule "
                                 f"{s.get('rule')!r}")
            reason = s.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                raise UsageError(f"{_where(path, text, 'suppressions')}: suppression of {info.id} needs a 'reason' "
                                 "(why it is acceptable), none given")
            policy.suppressions.append(Suppression(rule=info.id, path=str(s.get("path", "*")), reason=reason.strip()))


def _tables(data: dict[str, Any], key: str, allowed: set[str], path: str,
            text: str) -> list[tuple[dict[str, Any], _Entry]]:
    """An array of tables (``[[key]]``) whose tables use only ``allowed`` keys, each with where it is."""
    items = data[key]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise UsageError(f"{_where(path, text, key)}: {key!r} must be an array of tables ([[{key}]])")
    entries = _entries(text, key, len(items))
    for item, entry in zip(items, entries, strict=True):
        unknown = sorted(set(item) - allowed)
        if unknown:
            raise UsageError(f"{_where(path, text, unknown[0], entry)}: unknown key {unknown[0]!r} in [[{key}]]; "
                             f"expected one of {', '.join(sorted(allowed))}")
    return list(zip(items, entries, strict=True))


def _rules(table: Any, path: str, text: str, key: str, entry: _Entry = TOP) -> dict[str, str]:
    if not isinstance(table, dict):
        raise UsageError(f"{_where(path, text, key, entry)}: 'rules' must be a table of rule = severity")
    out = {}
    for ref, sev in table.items():
        info = resolve(ref)
        if info is None:
            raise UsageError(f"{_where(path, text, ref, entry)}: unknown rule {ref!r}; rules are "
                             f"DF001..DF{len(catalog()):03d} or their names (see docs/rules/)")
        if sev not in (*SEVERITIES, "off"):
            raise UsageError(f"{_where(path, text, ref, entry)}: severity of {ref} must be one of error, warning, "
                             f"note, off; found {sev!r}")
        out[info.id] = sev
    return out
