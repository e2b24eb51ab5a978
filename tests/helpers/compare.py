"""Fact-by-fact comparison of depfree with independent tools over the downloaded corpus (tests/helpers/corpus.py).

``compare_item(factory, name)`` returns one :class:`Row` per (fact, peer) for one binary: ``agree``, ``disagree``
or ``peer-wrong`` (the peer is known to be wrong there, with the reason and the evidence that shows it). Used by
tests/test_corpus.py (which fails on any ``disagree``) and bench/compare_corpus.py (which prints the table).
Nothing here trusts depfree's output as truth: every expected value comes from readelf, objdump, checksec,
``go version -m``, debug/gosym (tests/programs/go/gosymdump), pefile, lief, a hand-written Mach-O walk, GOROOT's
sources or the package's own metadata (Debian Built-Using, the wheel's platform tag).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from depfree import inspect
from depfree.model import Binary
from depfree.model_hardening import ElfHardening, Fortify, PeHardening
from depfree.versions import version_key
from helpers.corpus import CORPUS, corpus_dir, corpus_file, deb_control
from helpers.factory import Factory
from helpers.oracles import (
    goroot_runtime_dlls,
    gosym_functions,
    gosym_normalised,
    macho_symtab_counts,
    objdump_canary_loads,
    pe_imported_dlls,
    readelf_symbols,
    readelf_version_need_names,
)
from helpers.truth import go_version_m, readelf

OBJDUMP_MAX = 32 << 20  # objdump -d only on files up to this size


@dataclass
class Row:
    item: str
    fact: str
    peer: str
    ours: Any
    theirs: Any
    verdict: str  # agree | disagree | peer-wrong
    note: str = ""


def _row(item: str, fact: str, peer: str, ours: Any, theirs: Any, peer_wrong: str = "") -> Row:
    if ours == theirs:
        return Row(item, fact, peer, ours, theirs, "agree")
    return Row(item, fact, peer, ours, theirs, "peer-wrong" if peer_wrong else "disagree", peer_wrong)


def checksec(path: Path) -> dict[str, str]:
    out = subprocess.run(["checksec", f"--file={path}", "--output=json"], capture_output=True, text=True, check=False)
    return next(iter(json.loads(out.stdout).values()))


def compare_item(factory: Factory, name: str) -> list[Row]:
    path = corpus_file(factory, name)
    report = inspect(path, deep=True)
    assert not report.errors, report.errors
    b = report.binaries[0]
    rows: list[Row] = []
    if b.format == "elf":
        rows += _elf(name, path, b)
        rows += _elf_hardening(name, path, b)
        rows += _static_libc(factory, name, path, b)
    elif b.format == "pe":
        rows += _pe(factory, name, path, b)
    elif b.format == "macho":
        rows += _macho(name, path, b)
    if b.go is not None:
        rows += _go(factory, name, path, b)
    item = CORPUS[name]
    first = next(n for n, i in CORPUS.items() if (i.spec, i.platform) == (item.spec, item.platform))
    if item.kind == "wheel" and path.suffix == ".so" and first == name:  # once per wheel
        rows += _auditwheel(factory, name)
    return rows


# --- wheels: auditwheel --------------------------------------------------------------------------------------------
_AW_TAG = re.compile(r'constrains the platform tag to "manylinux_(\d+)_(\d+)_')
_AW_TAG_OK = re.compile(r'is consistent with the following platform tag:\s*"manylinux_(\d+)_(\d+)_')
_AW_LIB = re.compile(r"(\S+\.so[.\d]*) with versions\s*\{([^}]*)\}")


def _auditwheel(factory: Factory, name: str) -> list[Row]:
    """The wheel as a whole: auditwheel's manylinux tag (the highest GLIBC version any extension needs) and its
    highest version per family, against depfree's ``min_glibc`` and ``versioned`` over the wheel's ELF files."""
    item = CORPUS[name]
    wheel_dir = corpus_dir(factory, item)
    wheel = factory.cached(("corpus-wheel-file", item.spec, item.platform),
                           lambda out: _download_wheel(item.spec, item.platform, out), name="wheel")
    whl = next(wheel.glob("*.whl"))
    out = subprocess.run([sys.executable, "-m", "auditwheel", "show", str(whl)], capture_output=True, text=True,
                         check=False).stdout
    text = " ".join(out.split())
    m = _AW_TAG.search(text) or _AW_TAG_OK.search(text)
    assert m, f"auditwheel show {whl.name}: no manylinux tag in {out[:500]}"
    theirs_glibc = f"{m.group(1)}.{m.group(2)}"
    families: dict[str, str] = {}
    for _lib, versions in _AW_LIB.findall(text):
        for v in re.findall(r"'([A-Za-z]+)_([\d.]+)'", versions):
            fam, ver = v
            if fam not in families or version_key(ver) > version_key(families[fam]):
                families[fam] = ver
    ours_glibc = None
    ours_fam: dict[str, str] = {}
    for so in wheel_dir.rglob("*.so"):
        b = inspect(so).binaries[0]
        for req in b.linkage.versioned:
            if req.family not in ours_fam or version_key(req.min_version) > version_key(ours_fam[req.family]):
                ours_fam[req.family] = req.min_version
        if b.linkage.min_glibc and (ours_glibc is None or version_key(b.linkage.min_glibc) > version_key(ours_glibc)):
            ours_glibc = b.linkage.min_glibc
    return [_row(f"{name} (wheel)", "wheel min glibc", "auditwheel show", ours_glibc, theirs_glibc),
            _row(f"{name} (wheel)", "highest version per family", "auditwheel show",
                 {f: ours_fam.get(f) for f in families}, families)]


def _download_wheel(spec: str, platform: str, out: Path) -> None:
    out.mkdir()
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
           "--platform", platform, "--python-version", "3.12", "--implementation", "cp", "-d", str(out), spec]
    subprocess.run(cmd, capture_output=True, check=True, timeout=600)


# --- ELF: readelf ------------------------------------------------------------------------------------------------------
def _elf(name: str, path: Path, b: Binary) -> list[Row]:
    t = readelf(path)
    link = b.linkage
    rows = [
        _row(name, "interpreter", "readelf", link.interpreter, t.interpreter),
        _row(name, "needed", "readelf", link.needed, t.needed),
        _row(name, "rpath+runpath", "readelf", (link.rpath, link.runpath), (t.rpath, t.runpath)),
        _row(name, "min_glibc", "readelf", link.min_glibc, t.min_glibc),
    ]
    needs = {v for vs in readelf_version_need_names(path).values() for v in vs
             if v != "GLIBC_PRIVATE" and "_ABI_" not in v}
    listed = {v for r in link.versioned for v in r.versions}
    rows.append(_row(name, "version needs listed", "readelf", sorted(needs & listed), sorted(needs)))
    symtab = bool([s for s in readelf_symbols(path) if s[0]])
    rows.append(_row(name, "symbol table kept", "readelf", (b.debug is not None and b.debug.symtab), symtab))
    if link.interpreter is None and not link.needed and b.type != "shared":
        rows.append(_row(name, "static (no loader)", "readelf", link.kind in ("static", "static-pie"), True))
    return rows


def _elf_hardening(name: str, path: Path, b: Binary) -> list[Row]:
    h, cs = b.hardening, checksec(path)
    assert isinstance(h, ElfHardening)
    rows = []
    relro = {"full": "full", "partial": "partial", "none": "no", "n/a": "no"}[h.relro]
    rows.append(_row(name, "relro", "checksec", relro, cs["relro"]))
    pie = {True: "yes", False: "no", "n/a": "dso"}[h.pie]
    rows.append(_row(name, "pie", "checksec", pie, cs["pie"]))
    rows.append(_row(name, "nx", "checksec", "yes" if h.nx else "no", cs["nx"]))
    static = b.linkage.kind != "dynamic"
    if h.canary == "n/a":  # pure Go: checksec's "no" is the coarse form of "does not apply"
        rows.append(_row(name, "canary", "checksec", "no", cs["canary"]))
    elif static and not (b.debug is not None and b.debug.symtab):
        loads = objdump_canary_loads(path, b.arch) if path.stat().st_size <= OBJDUMP_MAX else None
        detail = h.evidence["canary"][0].detail
        ours = int(detail.split()[0]) if detail[0].isdigit() else 0
        if loads is not None:
            rows.append(_row(name, "canary loads", "objdump -d", ours, loads))
        why = (f"checksec looks only for a __stack_chk_fail symbol; objdump -d shows {loads} canary loads"
               if loads else "")
        rows.append(_row(name, "canary", "checksec", h.canary, cs["canary"], peer_wrong=why))
    else:
        rows.append(_row(name, "canary", "checksec", h.canary, cs["canary"]))
    if isinstance(h.fortify, Fortify):
        undefined = {n for n, _t, ndx in readelf_symbols(path, dynamic=True) if ndx == "UND"}
        sig = len(undefined & {"siglongjmp"})
        why = "checksec cannot map siglongjmp to __longjmp_chk (glibc bits/setjmp2.h redirects it)" if sig else ""
        rows.append(_row(name, "fortified", "checksec", h.fortify.fortified, int(cs["fortified"])))
        rows.append(_row(name, "fortifiable", "checksec", h.fortify.fortifiable, int(cs["fortify-able"]),
                         peer_wrong=why))
    return rows


def _static_libc(factory: Factory, name: str, path: Path, b: Binary) -> list[Row]:
    """The libc of static executables, from the package's own metadata or the Go runtime's reading."""
    link = b.linkage
    if link.kind == "dynamic":
        return []
    item = CORPUS[name]
    if item.kind == "deb":
        built = deb_control(factory, name).get("Built-Using", "")
        theirs = "glibc" if "glibc" in built else "musl" if "musl" in built else None
        if theirs is not None:
            return [_row(name, "static libc", "Debian Built-Using", link.libc.flavour, theirs)]
    if item.kind == "wheel" and "musllinux" in item.platform and "manylinux" not in item.platform:
        return [_row(name, "static libc", "wheel platform tag", link.libc.flavour, "musl")]
    if b.go is not None:
        cgo = any(n in ("x_cgo_init", "_cgo_sys_thread_start") for _p, n in gosym_functions(factory, path))
        return [_row(name, "static libc", "debug/gosym (no x_cgo_init)", link.libc.flavour,
                     "none" if not cgo else link.libc.flavour)]
    return []


# --- Go: go version -m, debug/gosym ----------------------------------------------------------------------------------
def _go(factory: Factory, name: str, path: Path, b: Binary) -> list[Row]:
    go = b.go
    assert go is not None
    rows = []
    gv = go_version_m(factory.gobin(), path)
    if gv is not None:
        rows.append(_row(name, "go version", "go version -m", go.version, gv.go_version))
        rows.append(_row(name, "go path", "go version -m", go.path, gv.path))
        rows.append(_row(name, "go deps", "go version -m", [(d.path, d.version) for d in go.deps],
                         [(d[0], d[1]) for d in gv.deps]))
        rows.append(_row(name, "go settings", "go version -m", go.settings, gv.settings))
        if "CGO_ENABLED" in gv.settings:
            rows.append(_row(name, "cgo_enabled", "go version -m", go.cgo_enabled, gv.settings["CGO_ENABLED"] == "1"))
        # every go.-prefixed package depfree finds belongs to a module go version -m lists (module-mode builds;
        # GOPATH-mode distro builds list no modules)
        mods = sorted({p.module for p in go.packages or [] if p.path.startswith("go.") and p.module})
        listed = {d[0] for d in gv.deps} | ({gv.main[0]} if gv.main else set())
        if gv.deps:
            rows.append(_row(name, "modules of go.-prefixed packages", "go version -m", mods,
                             [m for m in mods if m in listed]))
    if b.format in ("elf", "macho", "pe"):
        try:
            funcs = gosym_functions(factory, path)
        except RuntimeError:  # no pclntab section (PE without symbols): gosymdump cannot read it
            funcs = []
        if funcs:
            # C code: runtime/cgo's C part in the function table (internal linking), or libc needed (external)
            linked_c = any(n in ("x_cgo_init", "_cgo_sys_thread_start") or n.startswith("runtime/cgo.")
                           for _p, n in funcs)
            peer = "debug/gosym"
            if b.format == "elf":
                peer = "debug/gosym + readelf"
                t = readelf(path)
                linked_c = linked_c or ("libc.so.6" in t.needed and bool(t.dynsym_versions))
            rows.append(_row(name, "cgo (C code linked)", peer, go.cgo, linked_c))
            theirs = {gosym_normalised(p) for p, _n in funcs if p.startswith("go.")}
            # debug/gosym lists compiled functions only: packages whose code is all inlined are not compared
            ours = {p.path for p in go.packages or [] if p.path.startswith("go.") and p.functions}
            # depfree also names the package of a type whose only code is an equality function (type:.eq.P.T),
            # which debug/gosym gives no package: such extras must appear in some function name as "P."
            names = [n for _p, n in funcs]
            extra = {p for p in ours - theirs if any(p + "." in n for n in names)} if theirs else set()
            why = ""
            if not theirs and ours and (gv is None or gv.go_version < "go1.20"):
                why = "debug/gosym reads go. names as compiler-generated in Go 1.18/1.19 pclntabs"
            rows.append(_row(name, "go.-prefixed packages", peer.split(" +")[0], sorted(ours - extra),
                             sorted(theirs), peer_wrong=why))
    return rows


# --- PE: pefile, GOROOT --------------------------------------------------------------------------------------------
def _pe(factory: Factory, name: str, path: Path, b: Binary) -> list[Row]:
    import pefile

    pe = pefile.PE(str(path), fast_load=True)
    dc = pe.OPTIONAL_HEADER.DllCharacteristics
    h = b.hardening
    assert isinstance(h, PeHardening)
    rows = [
        _row(name, "imports", "pefile", b.linkage.needed, pe_imported_dlls(path)),
        _row(name, "aslr", "pefile", h.aslr, bool(dc & 0x40)),
        _row(name, "dep", "pefile", h.dep, bool(dc & 0x100)),
        _row(name, "high_entropy_va", "pefile", h.high_entropy_va, bool(dc & 0x20)),
    ]
    if b.go is not None and b.linkage.runtime_dlls is not None:
        found = {d.name for d in b.linkage.runtime_dlls if d.how == "go-runtime"}
        runtime = goroot_runtime_dlls(factory.goroot("1.24.11"))
        rows.append(_row(name, "runtime DLLs (Go runtime)", "GOROOT runtime/os_windows.go", sorted(found & runtime),
                         sorted(runtime)))
    return rows


# --- Mach-O: lief, a load-command walk -----------------------------------------------------------------------------
def _macho(name: str, path: Path, b: Binary) -> list[Row]:
    import lief

    m = lief.parse(str(path))
    defined, _undefined = macho_symtab_counts(path)
    rows = [
        _row(name, "dylibs", "lief", b.linkage.needed, [lib.name for lib in m.libraries]),
        _row(name, "pie", "lief", b.macho.pie if b.macho else None, m.header.has(lief.MachO.Header.FLAGS.PIE)),
        _row(name, "symbol table kept", "Mach-O walk (defined nlist entries)", (b.debug is not None and b.debug.symtab), defined > 0),
    ]
    bv = m.build_version
    minos = list(bv.minos) if bv is not None else list(m.version_min.version) if m.has_version_min else None
    if minos is not None:
        rows.append(_row(name, "min macOS", "lief", b.min_os.version if b.min_os else None,
                         ".".join(map(str, minos)).removesuffix(".0")))
    return rows


def compare_corpus(factory: Factory, names: list[str] | None = None) -> list[Row]:
    rows: list[Row] = []
    for name in names or list(CORPUS):
        rows += compare_item(factory, name)
    return rows


def summary(rows: list[Row]) -> dict[tuple[str, str], dict[str, int]]:
    """(fact, peer) -> counts of agree / disagree / peer-wrong."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    for r in rows:
        counts = out.setdefault((r.fact, r.peer), {"agree": 0, "disagree": 0, "peer-wrong": 0})
        counts[r.verdict] += 1
    return out
