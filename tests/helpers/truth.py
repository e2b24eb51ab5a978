"""Ground truth from independent tools (binutils readelf, `go version -m`), parsed for assertions.

depfree's answers are compared against these; nothing here calls depfree.
"""

from __future__ import annotations

import ast
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path


def _run(cmd: list[str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"}).stdout


@dataclass
class ReadelfFacts:
    interpreter: str | None
    needed: list[str]
    rpath: list[str]
    runpath: list[str]
    elf_type: str  # EXEC | DYN | REL | CORE
    machine: str
    klass: str  # ELF32 | ELF64
    data: str
    osabi: str
    flags_1: str
    version_needs: dict[str, list[str]] = field(default_factory=dict)  # library -> version names
    dynsym_versions: dict[str, str] = field(default_factory=dict)  # symbol -> version (undefined, versioned)

    @property
    def glibc_versions(self) -> list[str]:
        return [v for vs in self.version_needs.values() for v in vs if re.fullmatch(r"GLIBC_\d+(\.\d+)*", v)]

    @property
    def min_glibc(self) -> str | None:
        vs = [tuple(int(x) for x in v[6:].split(".")) for v in self.glibc_versions]
        # glibc 2.36 NEWS: objects linked with -z pack-relative-relocs need GLIBC_ABI_DT_RELR, defined from 2.36 on.
        if any("GLIBC_ABI_DT_RELR" in v for v in self.version_needs.values()):
            vs.append((2, 36))
        return ".".join(map(str, max(vs))) if vs else None


def version_needs(text: str) -> dict[str, list[str]]:
    """library -> the version names of its version-need entries, from ``readelf -V`` output."""
    needs: dict[str, list[str]] = {}
    section = text.split("Version needs section", 1)
    lib = None
    for line in section[1].splitlines() if len(section) == 2 else []:
        m = re.search(r"File: (\S+)\s+Cnt:", line)
        if m:
            lib = m.group(1)
            needs.setdefault(lib, [])
            continue
        m = re.search(r"Name: (\S+)\s+Flags:", line)
        if m and lib:
            needs[lib].append(m.group(1))
    return needs


def readelf(path: str | Path) -> ReadelfFacts:
    p = str(path)
    hdr = _run(["readelf", "-hW", p])
    prog = _run(["readelf", "-lW", p])
    dyn = _run(["readelf", "-dW", p])
    ver = _run(["readelf", "-VW", p])
    syms = _run(["readelf", "--dyn-syms", "-W", p])

    def hval(key: str) -> str:
        m = re.search(rf"^\s*{re.escape(key)}:\s*(.*)$", hdr, re.M)
        return m.group(1).strip() if m else ""

    interp = re.search(r"\[Requesting program interpreter: (.*)\]", prog)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.*)\]", dyn)
    rpath = [x for v in re.findall(r"\(RPATH\)\s+Library rpath: \[(.*)\]", dyn) for x in v.split(":") if x]
    runpath = [x for v in re.findall(r"\(RUNPATH\)\s+Library runpath: \[(.*)\]", dyn) for x in v.split(":") if x]
    flags1 = re.search(r"\(FLAGS_1\)\s+Flags: (.*)", dyn)
    needs = version_needs(ver)
    dsv: dict[str, str] = {}
    for line in syms.splitlines():
        m = re.match(r"\s*\d+:\s+[0-9a-f]+\s+\d+\s+\S+\s+\S+\s+\S+\s+UND\s+(\S+)@(\S+?)(?:\s+\(\d+\))?$", line)
        if m:
            dsv[m.group(1)] = m.group(2).lstrip("@")
    return ReadelfFacts(
        interpreter=interp.group(1) if interp else None, needed=needed, rpath=rpath, runpath=runpath,
        elf_type=hval("Type").split()[0] if hval("Type") else "", machine=hval("Machine"), klass=hval("Class"),
        data=hval("Data"), osabi=hval("OS/ABI"), flags_1=flags1.group(1).strip() if flags1 else "",
        version_needs=needs, dynsym_versions=dsv)


@dataclass
class GoVersionM:
    go_version: str
    path: str | None
    main: tuple[str, ...] | None
    deps: list[tuple[str, ...]]
    replaces: dict[str, tuple[str, ...]]
    settings: dict[str, str]


def go_version_m(gobin: str | Path, path: str | Path, goroot: str | Path | None = None) -> GoVersionM | None:
    """Parse `go version -m`; None when go says it is not a Go executable."""
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "GOTOOLCHAIN": "local", "GOFLAGS": "", "GOTELEMETRY": "off"}
    if goroot:
        env["GOROOT"] = str(goroot)
    out = subprocess.run([str(gobin), "version", "-m", str(path)], capture_output=True, text=True, env=env,
                         check=False)
    text = out.stdout
    if out.returncode != 0 or not text.strip():
        return None
    first, *rest = text.splitlines()
    go_version = first.split(": ", 1)[1].strip()
    res = GoVersionM(go_version=go_version, path=None, main=None, deps=[], replaces={}, settings={})
    last_dep: str | None = None
    for line in rest:
        cols = line.strip("\t").split("\t")
        if not cols:
            continue
        tag, vals = cols[0], tuple(cols[1:])
        if tag == "path":
            res.path = vals[0]
        elif tag == "mod":
            res.main = vals
            last_dep = vals[0]
        elif tag == "dep":
            res.deps.append(vals)
            last_dep = vals[0]
        elif tag == "=>" and last_dep:
            res.replaces[last_dep] = vals
        elif tag == "build":
            k, _, v = vals[0].partition("=")
            if v[:1] in ('"', "`"):
                v = ast.literal_eval(v) if v[0] == '"' else v[1:-1]
            res.settings[k] = v
    return res
