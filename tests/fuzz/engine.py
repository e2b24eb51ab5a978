"""A deterministic mutation engine over real binaries and archives (no depfree import: it only makes bytes).

``mutate(data, rng, others)`` returns (strategy, detail, new bytes). Mutant ``i`` of a run with seed ``S`` is always
made by ``random.Random(f"{S}:{i}")``, so a finding is reproduced by its (seed, index) alone, whatever the
parallelism.

Strategies (each aims at a way a reader can trust a file too much):

* ``field`` — a header or table field set to an extreme (0, 1, -1, 2^31, 2^32-1, 2^62, 2^63, 2^64-1, the file size
  and around it) in its own width and byte order: ELF header, program and section headers, dynamic entries; PE DOS
  and COFF headers, optional header, data directories, section table; Mach-O header and load commands; tar header
  fields; zip local and central headers. Field positions are found by reading the structures here, with struct;
* ``truncate`` — the file cut at a structure boundary or anywhere;
* ``bitflip`` — 1 to 8 bits flipped, in the headers or anywhere;
* ``pclntab`` — the Go pclntab header (magic ``0xfffffff1/f0/fa/fb``) words set to extremes or flipped;
* ``buildinfo`` — the Go build info blob (``\\xff Go buildinf:``): flags, pointer size, varint lengths, and the
  modinfo text (bad quotes and escapes, long lines, tabs, stray sentinels);
* ``splice`` — a run of bytes from another seed written over or inserted into this one.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

Field = tuple[int, int, str]  # (offset, width in bytes, struct byte order "<" or ">")

STRATEGIES = ("field", "truncate", "bitflip", "pclntab", "buildinfo", "splice")


def extremes(width: int, size: int) -> list[int]:
    top = (1 << (8 * width)) - 1
    vals = [0, 1, 2, 0x7F, 0x80, 0xFF, top, top >> 1, (top >> 1) + 1, size, size + 1, max(0, size - 1),
            size * 2, 0x1000, 0x10000]
    if width >= 4:
        vals += [1 << 30, 1 << 31, (1 << 32) - 1, 0x80000000, 0x40000000 + 1560]
    if width >= 8:
        vals += [1 << 62, 1 << 63, (1 << 63) - 1]
    return [v & top for v in vals]


def _u(data: bytes, off: int, width: int, order: str) -> int:
    if off < 0 or off + width > len(data):
        return 0
    return int.from_bytes(data[off : off + width], "little" if order == "<" else "big")


# ---- where the fields are -----------------------------------------------------------------------------------------

def elf_fields(d: bytes) -> list[Field]:
    if d[:4] != b"\x7fELF" or len(d) < 52:
        return []
    b64, o = d[4] == 2, "<" if d[5] != 2 else ">"
    w = 8 if b64 else 4
    # e_type e_machine e_version e_entry e_phoff e_shoff e_flags e_ehsize e_phentsize e_phnum e_shentsize e_shnum
    # e_shstrndx
    layout = [(16, 2), (18, 2), (20, 4), (24, w), (24 + w, w), (24 + 2 * w, w), (24 + 3 * w, 4)]
    p = 28 + 3 * w
    layout += [(p, 2), (p + 2, 2), (p + 4, 2), (p + 6, 2), (p + 8, 2), (p + 10, 2)]
    out: list[Field] = [(a, n, o) for a, n in layout]
    phoff, phnum, phent = _u(d, 24 + w, w, o), _u(d, p + 4, 2, o), _u(d, p + 2, 2, o)
    shoff, shnum, shent = _u(d, 24 + 2 * w, w, o), _u(d, p + 8, 2, o), _u(d, p + 6, 2, o)
    dyn: list[tuple[int, int]] = []
    if phent and phoff < len(d):
        for i in range(min(phnum, 64)):
            e = phoff + i * phent
            if e + phent > len(d):
                break
            fields = [(0, 4), (4, 4), (8, 8), (16, 8), (24, 8), (32, 8), (40, 8), (48, 8)] if b64 else \
                [(0, 4), (4, 4), (8, 4), (12, 4), (16, 4), (20, 4), (24, 4), (28, 4)]
            out += [(e + a, n, o) for a, n in fields]
            if _u(d, e, 4, o) == 2:  # PT_DYNAMIC
                off_f, size_f = (fields[2], fields[5]) if b64 else (fields[1], fields[4])
                dyn.append((_u(d, e + off_f[0], off_f[1], o), _u(d, e + size_f[0], size_f[1], o)))
    if shent and shoff < len(d):
        for i in range(min(shnum, 128)):
            e = shoff + i * shent
            if e + shent > len(d):
                break
            fields = [(0, 4), (4, 4), (8, 8), (16, 8), (24, 8), (32, 8), (40, 4), (44, 4), (48, 8), (56, 8)] \
                if b64 else [(0, 4), (4, 4), (8, 4), (12, 4), (16, 4), (20, 4), (24, 4), (28, 4), (32, 4), (36, 4)]
            out += [(e + a, n, o) for a, n in fields]
    ent = 16 if b64 else 8
    for off, size in dyn:
        for i in range(min(size // ent, 128)):
            if off + (i + 1) * ent <= len(d):
                out.append((off + i * ent + w, w, o))  # d_val (DT_STRSZ, DT_STRTAB, DT_VERNEED ...)
    return out


def pe_fields(d: bytes) -> list[Field]:
    if d[:2] != b"MZ" or len(d) < 64:
        return []
    lfanew = _u(d, 0x3C, 4, "<")
    out: list[Field] = [(0x3C, 4, "<")]
    if lfanew + 24 > len(d) or d[lfanew : lfanew + 4] != b"PE\0\0":
        return out
    c = lfanew + 4  # COFF header: Machine NumberOfSections TimeDateStamp PointerToSymbolTable NumberOfSymbols
    out += [(c, 2, "<"), (c + 2, 2, "<"), (c + 8, 4, "<"), (c + 12, 4, "<"), (c + 16, 2, "<"), (c + 18, 2, "<")]
    opt = c + 20
    magic = _u(d, opt, 2, "<")
    out.append((opt, 2, "<"))
    plus = magic == 0x20B
    # AddressOfEntryPoint, ImageBase, Major/MinorSubsystemVersion, DllCharacteristics, NumberOfRvaAndSizes
    out += [(opt + 16, 4, "<"), (opt + 24, 8 if plus else 4, "<"), (opt + 48, 2, "<"), (opt + 70, 2, "<")]
    nrva_at = opt + (108 if plus else 92)
    out.append((nrva_at, 4, "<"))
    for i in range(16):
        out += [(nrva_at + 4 + 8 * i, 4, "<"), (nrva_at + 8 + 8 * i, 4, "<")]
    sect = opt + _u(d, c + 16, 2, "<")
    for i in range(min(_u(d, c + 2, 2, "<"), 96)):
        e = sect + 40 * i
        if e + 40 > len(d):
            break
        out += [(e + a, 4, "<") for a in (8, 12, 16, 20, 36)]
        out.append((e, 8, "<"))  # the name ("/4" long names)
    return [f for f in out if f[0] + f[1] <= len(d)]


def macho_fields(d: bytes) -> list[Field]:
    magic = d[:4]
    if magic in (b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf"):  # universal: nfat_arch and each arch's offset/size
        out: list[Field] = [(4, 4, ">")]
        for i in range(min(_u(d, 4, 4, ">"), 8)):
            e = 8 + 20 * i
            out += [(e + 8, 4, ">"), (e + 12, 4, ">")]
        return out
    if magic not in (b"\xfe\xed\xfa\xce", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe"):
        return []
    o = "<" if magic[0] in (0xCE, 0xCF) else ">"
    b64 = magic in (b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe")
    out = [(4, 4, o), (12, 4, o), (16, 4, o), (20, 4, o)]
    pos = 32 if b64 else 28
    for _ in range(min(_u(d, 16, 4, o), 256)):
        if pos + 8 > len(d):
            break
        cmd, size = _u(d, pos, 4, o), _u(d, pos + 4, 4, o)
        out += [(pos, 4, o), (pos + 4, 4, o)]
        out += [(pos + a, 4, o) for a in range(8, min(size, 72), 4)]  # every word of the command's head
        if size < 8:
            break
        if cmd in (0x19, 0x1):  # LC_SEGMENT(_64): its sections' offset/size fields too
            nsect_at = pos + (64 if cmd == 0x19 else 48)
            sect = pos + (72 if cmd == 0x19 else 56)
            for i in range(min(_u(d, nsect_at, 4, o), 64)):
                e = sect + i * (80 if cmd == 0x19 else 68)
                out += [(e + a, 4, o) for a in ((40, 48, 52, 56) if cmd == 0x19 else (36, 40, 44, 48))]
                out.append((e + 32, 8 if cmd == 0x19 else 4, o))  # size
        pos += size
    return [f for f in out if f[0] + f[1] <= len(d)]


def tar_fields(d: bytes) -> list[Field]:
    out: list[Field] = []
    pos = 0
    for _ in range(64):
        if pos + 512 > len(d) or d[pos + 257 : pos + 262] != b"ustar":
            break
        out += [(pos + 124, 12, "oct"), (pos + 148, 8, "oct"), (pos + 156, 1, "<"), (pos + 100, 8, "oct"),
                (pos + 0, 8, "<")]
        try:
            size = int(d[pos + 124 : pos + 136].rstrip(b"\0 ") or b"0", 8)
        except ValueError:
            break
        pos += 512 + (size + 511) // 512 * 512
    return out


def zip_fields(d: bytes) -> list[Field]:
    out: list[Field] = []
    for m in re.finditer(b"PK\x01\x02", d[-(1 << 20):]):
        e = len(d) - min(len(d), 1 << 20) + m.start()
        out += [(e + a, n, "<") for a, n in ((10, 2), (16, 4), (20, 4), (24, 4), (28, 2), (30, 2), (38, 4), (42, 4))]
        if len(out) > 400:
            break
    for m in re.finditer(b"PK\x03\x04", d[: 1 << 20]):
        out += [(m.start() + a, n, "<") for a, n in ((8, 2), (18, 4), (22, 4), (26, 2), (28, 2))]
        if len(out) > 800:
            break
    for m in re.finditer(b"PK\x05\x06", d[-66000:]):
        e = len(d) - min(len(d), 66000) + m.start()
        out += [(e + a, n, "<") for a, n in ((8, 2), (10, 2), (12, 4), (16, 4))]
    return [f for f in out if f[0] + f[1] <= len(d)]


def fields_of(d: bytes) -> list[Field]:
    for finder in (elf_fields, pe_fields, macho_fields, tar_fields, zip_fields):
        f = finder(d)
        if f:
            return f
    return []


# ---- strategies ---------------------------------------------------------------------------------------------------

def _set_field(d: bytearray, f: Field, value: int) -> None:
    off, width, order = f
    if order == "oct":  # a tar numeric field: octal text, or GNU base-256 when it does not fit
        if value < 8 ** (width - 1):
            d[off : off + width] = f"{value:0{width - 1}o}".encode() + b"\0"
        elif value < 1 << (8 * (width - 1)):
            d[off : off + width] = b"\x80" + value.to_bytes(width - 1, "big")
        else:
            d[off : off + width] = b"\xff" * width  # base-256 -1
        return
    d[off : off + width] = value.to_bytes(width, "little" if order == "<" else "big")


def m_field(d: bytes, rng: random.Random, _others: Sequence[bytes]) -> tuple[str, bytes]:
    fields = fields_of(d)
    out = bytearray(d)
    if not fields:
        return m_bitflip(d, rng, _others)
    notes = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        f = rng.choice(fields)
        value = rng.choice(extremes(f[1] if f[2] != "oct" else 8, len(d)))
        _set_field(out, f, value)
        notes.append(f"{f[0]:#x}/{f[1]}={value:#x}")
    return "field " + " ".join(notes), bytes(out)


def m_truncate(d: bytes, rng: random.Random, _others: Sequence[bytes]) -> tuple[str, bytes]:
    fields = fields_of(d)
    if fields and rng.random() < 0.5:
        f = rng.choice(fields)
        cut = max(0, f[0] + rng.randrange(-2, f[1] + 2))
    elif rng.random() < 0.3:
        cut = rng.randrange(0, min(len(d), 4096) + 1)
    else:
        cut = rng.randrange(0, len(d) + 1)
    return f"truncate {cut}", d[:cut]


def m_bitflip(d: bytes, rng: random.Random, _others: Sequence[bytes]) -> tuple[str, bytes]:
    if not d:
        return "bitflip none", d
    out = bytearray(d)
    fields = fields_of(d)
    where = []
    for _ in range(rng.randrange(1, 9)):
        if fields and rng.random() < 0.5:
            f = rng.choice(fields)
            pos = f[0] + rng.randrange(f[1])
        elif rng.random() < 0.3:
            pos = rng.randrange(min(len(d), 4096))
        else:
            pos = rng.randrange(len(d))
        out[pos] ^= 1 << rng.randrange(8)
        where.append(pos)
    return "bitflip " + ",".join(f"{p:#x}" for p in where), bytes(out)


_PCLN_MAGICS = (b"\xf1\xff\xff\xff", b"\xf0\xff\xff\xff", b"\xfa\xff\xff\xff", b"\xfb\xff\xff\xff")


def pclntab_at(d: bytes) -> list[tuple[int, str]]:
    found = []
    for magic in _PCLN_MAGICS:
        for order, m in (("<", magic), (">", magic[::-1])):
            pos = d.find(m)
            while 0 <= pos < len(d) - 16 and len(found) < 8:
                if pos % 4 == 0 and d[pos + 4 : pos + 6] == b"\0\0" and d[pos + 6] in (1, 2, 4) \
                        and d[pos + 7] in (4, 8):
                    found.append((pos, order))
                pos = d.find(m, pos + 1)
    return found


def m_pclntab(d: bytes, rng: random.Random, others: Sequence[bytes]) -> tuple[str, bytes]:
    tabs = pclntab_at(d)
    if not tabs:
        return m_field(d, rng, others)
    at, order = rng.choice(tabs)
    ptr = d[at + 7]
    out = bytearray(d)
    notes = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        if rng.random() < 0.25:
            pos = at + rng.randrange(8)  # magic, pad, quantum, ptrsize
            out[pos] ^= 1 << rng.randrange(8)
            notes.append(f"flip {pos - at}")
            continue
        word = rng.randrange(8)  # nfunc, nfiles, textStart, funcnameOffset, cuOffset, filetabOffset, pctab, pcln
        f = (at + 8 + word * ptr, ptr, order)
        if f[0] + ptr > len(out):
            continue
        value = rng.choice(extremes(ptr, len(d)) + [_u(d, f[0], ptr, order) + rng.randrange(-64, 65) * ptr])
        _set_field(out, (f[0], f[1], f[2]), value & ((1 << (8 * ptr)) - 1))
        notes.append(f"word{word}={value:#x}")
    return f"pclntab@{at:#x} " + " ".join(notes), bytes(out)


_BUILDINFO = b"\xff Go buildinf:"
_MODINFO_INJECT = (b'build\t"\\xZZ"=1\n', b'build\t"\\u12"=x\n', b'build\t"unterminated\n', b"build\t=\n",
                   b"dep\t\t\t\n", b"mod\n", b'build\t`raw=1\n', b"path\t" + b"A" * 70000 + b"\n",
                   b"\n\t\t\t\t\n", b'build\t"\\U0011FFFF"="\\777"\n', b"\x00\xff\xfe",
                   b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6")


def m_buildinfo(d: bytes, rng: random.Random, others: Sequence[bytes]) -> tuple[str, bytes]:
    at = d.find(_BUILDINFO)
    if at < 0:
        return m_field(d, rng, others)
    out = bytearray(d)
    choice = rng.randrange(5)
    if choice == 0:  # pointer size and flags
        out[at + 14] = rng.choice((0, 1, 2, 3, 4, 8, 16, 255))
        out[at + 15] = rng.randrange(256)
        return f"buildinfo@{at:#x} ptrsize/flags={out[at + 14]}/{out[at + 15]}", bytes(out)
    if choice == 1:  # the first varint length (inline form) or the first pointer (old form)
        value = rng.choice((0x7F, 0xFF, 0x80, 0xFFFFFFFF, 1 << 40, len(d)))
        enc = bytearray()
        while True:
            b, value = value & 0x7F, value >> 7
            enc.append(b | (0x80 if value else 0))
            if not value:
                break
        out[at + 32 : at + 32 + len(enc)] = enc
        return f"buildinfo@{at:#x} varint={enc.hex()}", bytes(out)
    if choice == 2:  # old form: pointers at 16 and 16+ptrsize
        ptr = out[at + 14] if out[at + 14] in (4, 8) else 8
        f = (at + 16 + ptr * rng.randrange(2), ptr, "<")
        value = rng.choice(extremes(ptr, len(d)))
        _set_field(out, f, value)
        return f"buildinfo@{at:#x} pointer={value:#x}", bytes(out)
    # the modinfo text: find a line start after the header and inject
    region = bytes(out[at : at + 65536])
    starts = [m.start() for m in re.finditer(rb"\n(path|mod|dep|build)\t", region)] or [40]
    pos = at + rng.choice(starts) + 1
    inject = rng.choice(_MODINFO_INJECT)
    if choice == 3:
        out[pos : pos + len(inject)] = inject  # overwrite: lengths stay, content breaks
    else:
        j = rng.randrange(len(inject))
        out[pos + j] = rng.randrange(256)
    return f"buildinfo@{at:#x} modinfo@{pos - at:#x} {inject[:20]!r}", bytes(out)


def m_splice(d: bytes, rng: random.Random, others: Sequence[bytes]) -> tuple[str, bytes]:
    other = rng.choice(others) if others else d
    if not other or not d:
        return m_truncate(d, rng, others)
    n = rng.choice((8, 64, 512, 4096, 65536))
    src = rng.randrange(max(1, len(other) - n))
    chunk = other[src : src + n]
    dst = rng.randrange(len(d))
    if rng.random() < 0.7:
        out = d[:dst] + chunk + d[dst + len(chunk):]
        how = "over"
    else:
        out = d[:dst] + chunk + d[dst:]
        how = "insert"
    return f"splice {how} {len(chunk)}@{dst:#x} from {src:#x}", out


MUTATORS: dict[str, Callable[[bytes, random.Random, Sequence[bytes]], tuple[str, bytes]]] = {
    "field": m_field, "truncate": m_truncate, "bitflip": m_bitflip, "pclntab": m_pclntab,
    "buildinfo": m_buildinfo, "splice": m_splice,
}


def mutate(data: bytes, rng: random.Random, others: Sequence[bytes], strategy: str | None = None
           ) -> tuple[str, str, bytes]:
    """(strategy, what was done, the mutant)."""
    name = strategy or rng.choice(STRATEGIES)
    detail, out = MUTATORS[name](data, rng, others)
    return name, detail, out


def rng_for(seed: int, index: int) -> random.Random:
    return random.Random(f"{seed}:{index}")
