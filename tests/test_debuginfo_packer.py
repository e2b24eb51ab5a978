"""Debug info (what -s/-w/strip/objcopy left) and packer detection.

UPX is not packaged on Debian bookworm, so the UPX inputs here are constructed from the documented format (UPX's
src/stub/src/include/header.S and packhead.cpp: the `UPX!` magic of l_info and PackHeader, the version/format/
method/level bytes after the PackHeader magic, the `$Info:`/`$Id: UPX` strings of the stub) — not real UPX output.
"""

from __future__ import annotations

import random
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import depfree
from depfree.model import to_json


def debug_of(path: Path) -> dict:
    b = depfree.inspect(str(path)).binaries[0]
    assert b.debug is not None
    return to_json(b.debug)


def readelf_sections(path: Path) -> set[str]:
    out = subprocess.run(["readelf", "-SW", str(path)], capture_output=True, text=True, check=True).stdout
    return {line.split()[1] for line in out.splitlines() if line.strip().startswith("[") and "]" in line
            and len(line.split()) > 2 and not line.strip().startswith("[Nr]")}


def test_go_flags_in_words(factory) -> None:  # type: ignore[no-untyped-def]
    full = debug_of(factory.go("plain"))
    assert full["symtab"] and full["dwarf"] and full["stripped"].startswith("not stripped")
    w = debug_of(factory.go("plain", ldflags="-w"))
    assert w["symtab"] and not w["dwarf"] and "-ldflags=-w" in w["stripped"]
    sw = factory.go("plain", ldflags="-s -w")
    d = debug_of(sw)
    secs = readelf_sections(sw)
    assert d["symtab"] == (".symtab" in secs) is False
    assert not d["dwarf"] and "-s -w" in d["stripped"]
    assert d["go_build_id"]  # the Go build ID note survives -s -w
    goid = subprocess.run([str(factory.gobin()), "tool", "buildid", str(sw)], capture_output=True, text=True,
                          env={"GOROOT": str(factory.goroot()), "PATH": "/usr/bin:/bin", "HOME": "/tmp"},
                          check=True).stdout.strip()
    assert d["go_build_id"] == goid


def test_split_debug_info_with_debuglink(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = factory.c("hello.c", flags=("-g", "-Wl,--build-id"))

    def build(out: Path) -> None:
        shutil.copy(src, out)
        dbg = out.with_name("hello.debug")
        subprocess.run(["objcopy", "--only-keep-debug", str(out), str(dbg)], check=True)
        subprocess.run(["objcopy", "--strip-debug", "--strip-unneeded", f"--add-gnu-debuglink={dbg}", str(out)],
                       check=True, cwd=out.parent)

    exe = factory.cached(("split-debug", str(src)), build, name="hello")
    d = debug_of(exe)
    note = subprocess.run(["readelf", "-n", str(exe)], capture_output=True, text=True, check=True).stdout
    assert d["build_id"] and d["build_id"] in note
    assert d["debuglink"] == "hello.debug"
    assert not d["dwarf"] and "hello.debug" in d["stripped"]


def test_compressed_dwarf(factory) -> None:  # type: ignore[no-untyped-def]
    exe = factory.c("hello.c", flags=("-g", "-gz"))
    d = debug_of(exe)
    flags = subprocess.run(["readelf", "-SW", str(exe)], capture_output=True, text=True, check=True).stdout
    assert d["dwarf"] and d["dwarf_compressed"] == any(
        ".debug_info" in line and " C " in line.split(".debug_info")[1] for line in flags.splitlines())
    # the DWARF sections in readelf's table order
    names = re.findall(r"^\s*\[\s*\d+\] (\S+)", flags, re.M)
    assert d["dwarf_sections"] == [n for n in names if n.startswith((".debug_", ".zdebug_"))][:20]


def test_section_headers_removed(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = factory.go("plain")
    data = bytearray(src.read_bytes())
    struct.pack_into("<QHHH", data, 40, 0, 64, 0, 0)  # e_shoff=0, e_shnum=0, e_shstrndx=0 (sstrip-like)
    f = tmp_path / "sstripped"
    f.write_bytes(bytes(data))
    b = depfree.inspect(str(f)).binaries[0]
    assert b.debug is not None and to_json(b.debug)["section_headers"] is False
    assert "section headers removed" in to_json(b.debug)["stripped"]


def _fake_upx(src: Path, dst: Path, version: str = "4.22") -> None:
    """Place UPX's documented markers into a copy of a real ELF: l_info ('UPX!' after the program headers),
    the stub's $Info/$Id strings, and a PackHeader ('UPX!' + version, format, method, level) near the end."""
    data = bytearray(src.read_bytes())
    phoff = struct.unpack_from("<Q", data, 32)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    l_info = phoff + phentsize * phnum
    struct.pack_into("<I4sHBB", data, l_info, 0, b"UPX!", 0, 13, 22)  # l_checksum, l_magic, l_lsize, version, fmt
    stub = f"$Info: This file is packed with the UPX executable packer http://upx.sf.net $\n$Id: UPX {version} " \
           "Copyright (C) 1996-2024 the UPX Team. All Rights Reserved. $\n".encode()
    data[l_info + 16 : l_info + 16 + len(stub)] = stub
    data += b"UPX!" + bytes([13, 22, 14, 10]) + b"\0" * 24  # PackHeader: version 13, format 22 (ELF amd64), NRV2E
    dst.write_bytes(bytes(data))


def test_upx_from_the_documented_format(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    packed = tmp_path / "packed"
    _fake_upx(factory.c("hello.c", flags=("-static",)), packed)
    b = depfree.inspect(str(packed)).binaries[0]
    assert b.packer is not None and to_json(b.packer)["name"] == "UPX"
    assert to_json(b.packer)["version"] == "4.22"
    assert to_json(b.packer)["pack_header"] == {"version": 13, "format": 22, "method": 14, "level": 10}
    assert to_json(b.packer)["evidence"]


def test_upx_packed_go_says_what_needs_unpacking(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    packed = tmp_path / "packed-go"
    _fake_upx(factory.go("plain"), packed)
    b = depfree.inspect(str(packed)).binaries[0]
    assert b.packer is not None and to_json(b.packer)["name"] == "UPX" and "Go" in to_json(b.packer)["note"]


def test_overlay_and_clean_binaries(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = factory.c("hello.c")
    assert depfree.inspect(str(src)).binaries[0].packer is None
    with_overlay = tmp_path / "overlay"
    with_overlay.write_bytes(src.read_bytes() + b"ZIPDATA" * 1000)
    p = to_json(depfree.inspect(str(with_overlay)).binaries[0].packer)
    assert p is not None and p["overlay"] == {"offset": src.stat().st_size, "size": 7000}
    assert p["name"] is None


def test_pe_section_packer_signature(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Rename the sections of a real mingw .exe to UPX0/UPX1 (UPX's PE layout) — constructed, not packed."""
    exe = factory.c("hello.c", cc="x86_64-w64-mingw32-gcc")
    data = bytearray(exe.read_bytes())
    lfanew = struct.unpack_from("<I", data, 0x3C)[0]
    nsec = struct.unpack_from("<H", data, lfanew + 6)[0]
    opt = struct.unpack_from("<H", data, lfanew + 20)[0]
    sec0 = lfanew + 24 + opt
    for i, name in enumerate((b"UPX0", b"UPX1")[:nsec]):
        data[sec0 + i * 40 : sec0 + i * 40 + 8] = name.ljust(8, b"\0")
    f = tmp_path / "upx.exe"
    f.write_bytes(bytes(data))
    p = to_json(depfree.inspect(str(f)).binaries[0].packer)
    assert p is not None and p["name"] == "UPX"
    assert {e["name"] for e in p["evidence"]} == {"UPX0", "UPX1"}


def _text_range(path: Path) -> tuple[int, int]:
    """(file offset, size) of .text as readelf prints them."""
    out = subprocess.run(["readelf", "-SW", str(path)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        fields = line.replace("[ ", "[").split()
        if len(fields) > 6 and fields[1] == ".text":
            return int(fields[4], 16), int(fields[5], 16)
    raise AssertionError("no .text in readelf -S output")


def test_high_entropy_code_without_a_known_packer(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Code replaced by random bytes (what an unknown packer or encrypter leaves) is flagged; real code is not."""
    src = factory.c("hello.c", flags=("-static",))
    assert depfree.inspect(str(src)).binaries[0].packer is None  # compiled code measures about 6 bits per byte
    offset, size = _text_range(src)
    data = bytearray(src.read_bytes())
    data[offset : offset + size] = random.Random(8).randbytes(size)
    packed = tmp_path / "encrypted"
    packed.write_bytes(bytes(data))
    p = to_json(depfree.inspect(str(packed)).binaries[0].packer)
    assert p is not None and p["name"] is None
    assert p["high_entropy_text"] is True and p["text_entropy"] > 7.9


def test_separate_debug_info_file_is_not_a_program(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """``objcopy --only-keep-debug`` output (what /usr/lib/debug/.build-id holds) keeps the program headers, with
    PT_INTERP pointing at nothing: inspect says what the file is; a scan skips it and reports the program only."""
    src = factory.c("hello.c")
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy2(src, tree / "hello")
    subprocess.run(["objcopy", "--only-keep-debug", str(src), str(tree / "hello.debug")], check=True)
    assert ".text" in readelf_sections(tree / "hello.debug")
    proc = subprocess.run([sys.executable, "-m", "depfree", "inspect", str(tree / "hello.debug")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "separate debug-info file" in proc.stderr and "SHT_NOBITS" in proc.stderr
    report = depfree.scan(str(tree), jobs=1)
    assert [b.path for b in report.binaries] == [str(tree / "hello")] and report.errors == []


def _shannon(data: bytes) -> float:
    """The entropy computed here the textbook way (a histogram of all 256 values), independent of packer.py."""
    import math

    n = len(data)
    return -sum(c / n * math.log2(c / n) for c in (data.count(bytes([v])) for v in range(256)) if c)


def test_entropy_bound_never_says_below_when_it_is_not(factory) -> None:  # type: ignore[no-untyped-def]
    """analysis/packer.py skips the full count when a few byte counts prove the entropy below the limit: over real
    code (gcc, Go, musl, MinGW), random bytes and samples made to sit just around the limit, every "surely below"
    is true, and the entropy it reports otherwise is the textbook one."""
    from depfree.analysis.packer import ENTROPY_SAMPLE, HIGH_ENTROPY, _entropy, _surely_below

    rng = random.Random(23)
    samples = []
    for path in (factory.c("hello.c"), factory.c("hello.c", flags=("-static",)), factory.go("plain"),
                 factory.c("hello.c", cc="musl-gcc"), factory.c("hello.c", cc="x86_64-w64-mingw32-gcc")):
        data = path.read_bytes()
        for off in range(0, len(data) - ENTROPY_SAMPLE, max(1, len(data) // 40)):
            samples.append(data[off : off + ENTROPY_SAMPLE])
    samples += [rng.randbytes(ENTROPY_SAMPLE), rng.randbytes(100), bytes(ENTROPY_SAMPLE), b"\x00\xff" * 8]
    for width in range(120, 256, 4):  # uniform over `width` values: entropy log2(width), from 6.9 to 8 bits
        samples.append(bytes(rng.randrange(width) for _ in range(ENTROPY_SAMPLE)))
    settled = 0
    for data in samples:
        exact = _shannon(data)
        assert abs(_entropy(data) - exact) < 1e-9
        for limit in (HIGH_ENTROPY, 6.0, 7.0, 7.9):
            if _surely_below(data, limit):
                settled += 1
                assert exact < limit, (limit, exact)
    assert settled > len(samples)  # (the bound does settle most real code at the default limit)
