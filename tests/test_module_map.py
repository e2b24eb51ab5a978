"""docs/DEVELOPING.md's module map names every module under src/depfree, once, and nothing that is not there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "depfree"
MAP_LINE = re.compile(r"^- `([^`]+\.py)` — \S")


def map_entries(text: str) -> list[str]:
    """The module paths of the map's lines: from '## Module map' to the next '## ' heading."""
    section = text.split("\n## Module map\n", 1)[1].split("\n## ", 1)[0]
    return [m.group(1) for line in section.splitlines() if (m := MAP_LINE.match(line))]


def test_every_module_is_on_the_map_and_every_line_is_a_module() -> None:
    listed = map_entries((ROOT / "docs" / "DEVELOPING.md").read_text(encoding="utf-8"))
    modules = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")}
    doubled = sorted({m for m in listed if listed.count(m) > 1})
    assert not doubled, f"listed more than once in docs/DEVELOPING.md's module map: {doubled}"
    missing = sorted(modules - set(listed))
    assert not missing, f"modules missing from docs/DEVELOPING.md's module map (add one line each): {missing}"
    stale = sorted(set(listed) - modules)
    assert not stale, f"docs/DEVELOPING.md's module map names modules that do not exist: {stale}"


def test_map_lines_that_break_the_form_are_noticed() -> None:
    """A line in the map that names a module but not in the '- `path` — what it is' form would be skipped silently."""
    text = (ROOT / "docs" / "DEVELOPING.md").read_text(encoding="utf-8")
    section = text.split("\n## Module map\n", 1)[1].split("\n## ", 1)[0]
    odd = [line for line in section.splitlines() if line.startswith("- ") and not MAP_LINE.match(line)]
    assert not odd, f"module map lines not of the form '- `path.py` — what it is': {odd}"
