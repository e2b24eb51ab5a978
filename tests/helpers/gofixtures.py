"""Derived Go fixtures for the pclntab/packages/size tests (build info removed, section headers removed, gccgo,
Rust) and ground truth from the toolchain (``go list -deps``, ``go tool nm``)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

from depfree.formats.base import Executable, Section, Segment
from depfree.sources.file import ByteSource
from depfree.toolchains import go_env
from helpers.factory import GO_PROGRAMS, PROGRAMS, Factory


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr[-2000:]}")
    return proc


def without_buildinfo(factory: Factory, binary: Path, objcopy: str = "objcopy") -> Path:
    """A copy with ``.go.buildinfo`` removed by objcopy (``llvm-objcopy`` handles every architecture)."""
    tool = factory.require(objcopy)
    return factory.cached(("no-buildinfo", binary, objcopy),
                          lambda out: _run([tool, "--remove-section", ".go.buildinfo", str(binary), str(out)]),
                          name=binary.name)


def without_buildinfo_magic(factory: Factory, binary: Path) -> Path:
    """A copy whose build info header magic is zeroed (as packers and scrubbers do; PE and Mach-O keep build info in
    their data sections, where objcopy cannot remove it alone). ``go version`` no longer recognises it."""

    def build(out: Path) -> None:
        data = bytearray(binary.read_bytes())
        i = data.find(b"\xff Go buildinf:")
        assert i >= 0, "no build info magic"
        data[i : i + 14] = bytes(14)
        out.write_bytes(bytes(data))

    return factory.cached(("no-buildinfo-magic", binary), build, name=binary.name)


def without_section_headers(factory: Factory, binary: Path) -> Path:
    """A copy whose ELF header says there are no section headers (e_shoff = e_shnum = e_shstrndx = 0)."""

    def build(out: Path) -> None:
        shutil.copyfile(binary, out)
        with open(out, "r+b") as fh:
            ident = fh.read(6)
            assert ident[:4] == b"\x7fELF" and ident[4] == 2, "64-bit ELF expected"
            order = "<" if ident[5] == 1 else ">"
            fh.seek(0x28)
            fh.write(struct.pack(order + "Q", 0))  # e_shoff
            fh.seek(0x3C)
            fh.write(struct.pack(order + "HH", 0, 0))  # e_shnum, e_shstrndx

    return factory.cached(("no-shdr", binary), build, name=binary.name)


def gccgo_build(factory: Factory, program: str = "plain") -> Path:
    """A single-file Go program (tests/programs/go/<program>/main.go) built by Debian's gccgo (libgo dynamic)."""
    gccgo = factory.require("gccgo")
    src = GO_PROGRAMS / program / "main.go"
    ident = _run([gccgo, "--version"]).stdout.splitlines()[0]
    return factory.cached(("gccgo", program, src.read_text(), ident),
                          lambda out: _run([gccgo, "-O1", "-o", str(out), str(src)]), name=program)


def rust_hello(factory: Factory) -> Path:
    rustc = factory.require("rustc")
    src = PROGRAMS / "rust" / "hello.rs"
    ident = _run([rustc, "--version"]).stdout.strip()

    def build(out: Path) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            _run([rustc, "-O", "-o", str(out), str(src)], cwd=tmp)

    return factory.cached(("rustc", src.read_text(), ident), build, name="hello")


def go_list_deps(factory: Factory, program: str, go: str = "1.27.3", goos: str = "linux", goarch: str = "amd64",
                 cgo: bool = False, tags: str = "") -> dict[str, tuple[str | None, bool]]:
    """``go list -deps`` of a fixture program with the toolchain that builds it: import path -> (module path or
    None, standard library?). Run in a copy (``-mod=mod`` may write go.sum)."""
    tc = factory.toolchain(go)
    env = go_env(tc, goos=goos, goarch=goarch, cgo=cgo, env={"GOPROXY": factory.goproxy()})
    fmt = "{{.ImportPath}}\t{{with .Module}}{{.Path}}{{end}}\t{{.Standard}}"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / program
        shutil.copytree(GO_PROGRAMS / program, work)
        cmd = [str(tc.go), "list", "-deps", "-f", fmt] + ([f"-tags={tags}"] if tags else []) + ["."]
        out = _run(cmd, cwd=work, env=env).stdout
    deps: dict[str, tuple[str | None, bool]] = {}
    for line in out.splitlines():
        path, module, std = line.split("\t")
        deps[path] = (module or None, std == "true")
    return deps


def go_tool_nm(factory: Factory, binary: Path, go: str = "1.27.3") -> dict[str, int]:
    """Text symbols and their addresses from ``go tool nm`` (which reads the symbol table)."""
    tc = factory.toolchain(go)
    out = _run([str(tc.go), "tool", "nm", str(binary)], env=go_env(tc)).stdout
    syms: dict[str, int] = {}
    for line in out.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[1] in ("T", "t"):
            syms.setdefault(parts[2], int(parts[0], 16))
    return syms


class RawImage(Executable):
    """Bytes with no known container format: what a packer, a memory dump or a raw pclntab looks like."""

    format = "raw"
    arch = "unknown"
    os = "unknown"
    bits = 64
    endian = "little"
    type = "raw"

    def __init__(self, source: ByteSource) -> None:
        super().__init__(source)

    def sections(self) -> list[Section]:
        return []

    def segments(self) -> list[Segment]:
        return []

    @property
    def entry(self) -> int:
        return 0
