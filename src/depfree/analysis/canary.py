"""Stack-protector canary loads found in the code itself: a bounded scan of the executable segments for the
instruction that copies the canary from the thread control block into a frame (per-arch patterns in
``data/hardening.toml`` ``[canary_load]``: ``mov %fs:0x28,%reg`` on x86-64, ``mov %gs:0x14,%reg`` on i386).

For statically linked and stripped binaries, where neither an import nor a symbol of ``__stack_chk_fail`` can say
anything. The scan reads the mapped file in place (no copy) and stops after :data:`MAX_SCAN` bytes of code.
"""

from __future__ import annotations

import re
from functools import cache

from depfree.dataclass import dataclass
from depfree.datafiles import load
from depfree.formats.base import Executable

MAX_SCAN = 512 << 20  # bytes of executable code scanned at most


@dataclass(frozen=True)
class CanaryScan:
    loads: int  # instructions matching the canary-load pattern
    scanned: int  # bytes of executable code read
    segments: int  # executable PT_LOAD segments read
    truncated: bool  # stopped at MAX_SCAN
    where: str  # the thread-block slot, e.g. %fs:0x28


_WHERE = {"amd64": "%fs:0x28", "386": "%gs:0x14"}


@cache
def _pattern(arch: str) -> re.Pattern[bytes] | None:
    text = load("hardening.toml")["canary_load"].get(arch)
    return re.compile(text.encode("latin-1"), re.DOTALL) if isinstance(text, str) else None


def scan_canary_loads(exe: Executable) -> CanaryScan | None:
    """Count canary loads in the executable segments; None when there is no pattern for the arch or no code to read."""
    pattern = _pattern(exe.arch)
    if pattern is None:
        return None
    code = [s for s in exe.segments() if s.kind == "load" and s.executable and s.filesz > 0]
    view = exe.source.view()
    loads = scanned = segments = 0
    truncated = False
    for seg in code:
        start = exe.base + seg.offset
        end = min(start + seg.filesz, exe.base + exe.length, len(view))
        if end <= start:
            continue
        if scanned + (end - start) > MAX_SCAN:
            end = start + (MAX_SCAN - scanned)
            truncated = True
        loads += len(pattern.findall(view, start, end))  # (one item per match, faster than finditer)
        scanned += end - start
        segments += 1
        if truncated:
            break
    if not segments:
        return None
    return CanaryScan(loads=loads, scanned=scanned, segments=segments, truncated=truncated,
                      where=_WHERE.get(exe.arch, "the thread block"))
