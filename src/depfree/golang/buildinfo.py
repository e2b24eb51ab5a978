"""Go build info: the blob the Go linker writes (``cmd/link/internal/ld.Link.buildinfo``) and Go's
``debug/buildinfo`` reads.

Layout (GOROOT ``src/debug/buildinfo/buildinfo.go``):
- a 32-byte header, 16-byte aligned, in the first 64 KiB of the data (ELF ``.go.buildinfo``, else the first writable
  segment; Mach-O ``__go_buildinfo``/``__data``; PE ``.data``):
  14 bytes magic ``\\xff Go buildinf:``, 1 byte pointer size, 1 byte flags (bit 0 big-endian, bit 1 inline strings);
- Go >= 1.18 (flag bit 1): two uvarint-length-prefixed strings after the header: runtime.buildVersion and modinfo;
- older: two pointers at offset 16 to Go string headers (data pointer, length) of those two strings.
modinfo is framed by 16-byte sentinels and holds tab-separated lines (``src/runtime/debug/mod.go`` ParseBuildInfo).
"""

from __future__ import annotations

from depfree.dataclass import dataclass, field
from depfree.errors import FormatError
from depfree.formats.base import ByteOrder, Executable
from depfree.model import GoModule

MAGIC = b"\xff Go buildinf:"
HEADER_SIZE = 32
ALIGN = 16
SEARCH = 64 * 1024
MAX_STRING = 16 * 1024 * 1024


class BuildInfoError(FormatError):
    """The build info blob is present but unreadable (the message says which part)."""


@dataclass
class RawBuildInfo:
    """The build info blob as found: the Go version and module info strings, its address, its form (inline or
    pointers), pointer size and byte order."""

    version: str
    modinfo: str
    address: int
    inline: bool
    ptr_size: int
    big_endian: bool


@dataclass
class BuildInfo:
    """The build info parsed (what ``go version -m`` prints): Go version, main path and module, deps, settings."""

    go_version: str
    path: str = ""
    main: GoModule | None = None
    deps: list[GoModule] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    raw: RawBuildInfo | None = None


def find_raw(exe: Executable) -> RawBuildInfo | None:
    """The version and modinfo strings, or None if the executable has no build info blob. An ELF whose section
    headers show nothing of the gc linker has none (see ``search.could_be_go``): its data is not read."""
    from depfree.golang.search import could_be_go

    if not could_be_go(exe):
        return None
    start = exe.data_start()
    if start is None:
        return None
    data = exe.read_at(start, SEARCH)
    pos = 0
    while True:
        i = data.find(MAGIC, pos)
        if i < 0 or len(data) - i < HEADER_SIZE:
            return None
        if i % ALIGN == 0:
            break
        pos = (i + ALIGN - 1) & ~(ALIGN - 1)
    hdr = data[i : i + HEADER_SIZE]
    ptr_size, flags = hdr[14], hdr[15]
    addr = start + i
    if flags & 2:
        rest = data[i + HEADER_SIZE :]
        if len(rest) < 2:
            # the strings may run past the 64 KiB window we read; read more from the blob itself
            rest = exe.read_at(addr + HEADER_SIZE, SEARCH)
        vers, rest = _uvarint_string(rest)
        if len(rest) < 64 and vers:
            rest = exe.read_at(addr + HEADER_SIZE + len(_uvarint_prefix(vers)) + len(vers.encode()), MAX_STRING)
        mod, _ = _uvarint_string(rest)
        big = False
    else:
        if ptr_size not in (4, 8):
            raise BuildInfoError(f"build info header at {addr:#x} has pointer size {ptr_size}, expected 4 or 8")
        big = bool(flags & 1)
        order: ByteOrder = "big" if big else "little"

        def ptr(b: bytes) -> int:
            return int.from_bytes(b[:ptr_size], order)

        vers = _read_go_string(exe, ptr(hdr[16:]), ptr_size, order)
        mod = _read_go_string(exe, ptr(hdr[16 + ptr_size :]), ptr_size, order)
    if not vers:
        return None
    # Strip the module framing sentinels (cmd/go/internal/modload infoStart / infoEnd).
    if len(mod) >= 33 and mod[-17] == "\n":
        mod = mod[16:-16]
    else:
        mod = ""
    return RawBuildInfo(version=vers, modinfo=mod, address=addr, inline=bool(flags & 2), ptr_size=ptr_size,
                        big_endian=big)


def _uvarint(data: bytes) -> tuple[int, int]:
    """(value, bytes used); used = 0 on truncation or overflow, as Go's binary.Uvarint."""
    x = shift = 0
    for n, b in enumerate(data[:10]):
        x |= (b & 0x7F) << shift
        if b < 0x80:
            return x, n + 1
        shift += 7
    return 0, 0


def _uvarint_prefix(s: str) -> bytes:
    n = len(s.encode())
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _uvarint_string(data: bytes) -> tuple[str, bytes]:
    u, n = _uvarint(data)
    if n <= 0 or u >= len(data) - n + 1 or u > MAX_STRING:
        return "", b""
    return data[n : n + u].decode("utf-8", "replace"), data[n + u :]


def _read_go_string(exe: Executable, addr: int, ptr_size: int, order: ByteOrder) -> str:
    hdr = exe.read_at(addr, 2 * ptr_size)
    if len(hdr) < 2 * ptr_size:
        return ""
    data_addr = int.from_bytes(hdr[:ptr_size], order)
    length = int.from_bytes(hdr[ptr_size:], order)
    if length > MAX_STRING:
        return ""
    data = exe.read_at(data_addr, length)
    if len(data) < length:
        return ""
    return data.decode("utf-8", "replace")


def parse_modinfo(text: str) -> tuple[str, GoModule | None, list[GoModule], dict[str, str]]:
    """``path``, main module, deps and build settings from modinfo lines (the reverse of BuildInfo.String)."""
    path = ""
    main: GoModule | None = None
    deps: list[GoModule] = []
    settings: dict[str, str] = {}
    last: GoModule | None = None
    for lineno, line in enumerate(text.split("\n"), 1):
        if line.startswith("path\t"):
            path = line[5:]
        elif line.startswith(("mod\t", "dep\t")):
            elem = line[4:].split("\t")
            if len(elem) not in (2, 3):
                raise BuildInfoError(f"modinfo line {lineno}: expected 2 or 3 columns, got {len(elem)}")
            mod = GoModule(path=elem[0], version=elem[1], sum=elem[2] if len(elem) == 3 else "")
            if line.startswith("mod"):
                main = mod
            else:
                deps.append(mod)
            last = mod
        elif line.startswith("=>\t"):
            elem = line[3:].split("\t")
            if len(elem) != 3 or last is None:
                raise BuildInfoError(f"modinfo line {lineno}: malformed replacement")
            last.replace = GoModule(path=elem[0], version=elem[1], sum=elem[2])
            last = None
        elif line.startswith("build\t"):
            key, value = _build_setting(line[6:], lineno)
            settings[key] = value
    return path, main, deps, settings


def _build_setting(kv: str, lineno: int) -> tuple[str, str]:
    if not kv or kv[0] == "=":
        raise BuildInfoError(f"modinfo line {lineno}: build line with missing key")
    if kv[0] in "`\"":
        key, rest = go_unquote_prefix(kv)
        if not rest.startswith("="):
            raise BuildInfoError(f"modinfo line {lineno}: missing '=' after quoted key")
        raw = rest[1:]
    else:
        key, sep, raw = kv.partition("=")
        if not sep:
            raise BuildInfoError(f"modinfo line {lineno}: build line missing '='")
    value = go_unquote_prefix(raw)[0] if raw[:1] in ("`", '"') else raw
    return key, value


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"',
            "'": "'"}


def go_unquote_prefix(s: str) -> tuple[str, str]:
    """Decode a Go quoted string at the start of ``s`` (strconv.QuotedPrefix + Unquote); returns (value, rest)."""
    if s.startswith("`"):
        end = s.find("`", 1)
        if end < 0:
            raise BuildInfoError("unterminated raw string")
        return s[1:end], s[end + 1 :]
    if not s.startswith('"'):
        raise BuildInfoError("expected a quoted string")
    out = bytearray()
    i = 1
    while i < len(s):
        c = s[i]
        if c == '"':
            return out.decode("utf-8", "replace"), s[i + 1 :]
        if c == "\\" and i + 1 < len(s):
            e = s[i + 1]
            if e in _ESCAPES:
                out += _ESCAPES[e].encode()
                i += 2
            elif e == "x":
                out.append(_digits(s, i + 2, 2, 16, "\\x"))
                i += 4
            elif e in "uU":
                n = 4 if e == "u" else 8
                cp = _digits(s, i + 2, n, 16, f"\\{e}")
                if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:  # strconv: not a valid rune
                    raise BuildInfoError(f"escape \\{e}{s[i + 2 : i + 2 + n]}: not a Unicode code point")
                out += chr(cp).encode()
                i += 2 + n
            elif e in "01234567":
                value = _digits(s, i + 1, 3, 8, "\\ (octal)")
                if value > 0xFF:
                    raise BuildInfoError(f"octal escape \\{s[i + 1 : i + 4]}: above 255")
                out.append(value)
                i += 4
            else:
                raise BuildInfoError(f"unknown escape \\{e}")
        else:
            out += c.encode()
            i += 1
    raise BuildInfoError("unterminated quoted string")


def _digits(s: str, at: int, n: int, base: int, what: str) -> int:
    """``n`` digits of ``base`` at ``s[at:]`` (a string escape's argument), or a BuildInfoError saying what is there."""
    text = s[at : at + n]
    allowed = "0123456789abcdefABCDEF" if base == 16 else "01234567"
    if len(text) != n or any(c not in allowed for c in text):
        raise BuildInfoError(f"escape {what}: expected {n} base-{base} digits, found {text!r}")
    return int(text, base)


def read_buildinfo(exe: Executable) -> BuildInfo | None:
    raw = find_raw(exe)
    if raw is None:
        return None
    path, main, deps, settings = parse_modinfo(raw.modinfo) if raw.modinfo else ("", None, [], {})
    return BuildInfo(go_version=raw.version, path=path, main=main, deps=deps, settings=settings, raw=raw)
