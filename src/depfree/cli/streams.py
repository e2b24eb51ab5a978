"""How text reaches stdout and stderr whatever their encoding: the one place output marks fall back to ASCII.

Renderers write the Unicode marks (``✓ ✗ ⚠ … ≥ —``). When the stream cannot encode one (``PYTHONIOENCODING=ascii``,
a latin-1 terminal, a CI log), the ``depfree`` codec error handler writes its ASCII form instead of raising
UnicodeEncodeError. A file name that is not valid UTF-8 arrives as lone surrogates (``os.fsdecode``) and leaves as
its own bytes (surrogateescape), in any encoding, so what is printed is what ``ls`` would print.
"""

from __future__ import annotations

import codecs
import sys

ASCII_MARKS = {"✓": "+", "✗": "x", "⚠": "!", "…": "...", "—": "-", "–": "-", "≥": ">=", "≤": "<=", "→": "->",
               "×": "x", "µ": "u", "ℹ": "i", "✅": "+", "❌": "x", "•": "*", "━": "-", "─": "-", "│": "|", "╺": "-",
               "╸": "-", "’": "'", "“": '"', "”": '"'}
HANDLER = "depfree"


def fallback(err: UnicodeError) -> tuple[str | bytes, int]:
    if not isinstance(err, UnicodeEncodeError):
        raise err
    text = err.object[err.start : err.end]
    if all(0xDC80 <= ord(c) <= 0xDCFF for c in text):  # surrogateescape'd bytes of a file name
        return bytes(ord(c) - 0xDC00 for c in text), err.end
    out = []
    for c in text:
        if 0xD800 <= ord(c) <= 0xDFFF:
            out.append("?")
        else:
            out.append(ASCII_MARKS.get(c) or c.encode("ascii", "backslashreplace").decode("ascii"))
    return "".join(out), err.end


def configure() -> None:
    """Give stdout and stderr the fallback handler (their encoding is left as the environment chose it)."""
    try:
        codecs.lookup_error(HANDLER)
    except LookupError:
        codecs.register_error(HANDLER, fallback)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors=HANDLER)
            except (ValueError, OSError):  # a closed or detached stream: nothing to configure
                pass
