"""Runtime needs: what the binary will ask of the machine it lands on — files, directories, the interpreter,
libraries, a minimum kernel / OS, a CPU level — each with why and the evidence. Knowledge in data/stdlib_needs.toml
and data/go_versions.toml."""

from __future__ import annotations

from typing import Any

from depfree.analysis.context import Context
from depfree.datafiles import load
from depfree.model import Binary, Evidence, Need
from depfree.versions import version_key


def analyze_needs(ctx: Context) -> None:
    b = ctx.binary
    needs: list[Need] = []
    needs += _linkage_needs(b)
    if b.go is not None:
        needs += _stdlib_needs(ctx)
        needs += _go_version_needs(b)
        needs += _cpu_needs(b)
    elif b.min_os is not None and b.min_os.os == "linux":
        needs.append(Need("kernel", b.min_os.version, "the C runtime was built for this minimum kernel",
                          b.min_os.evidence))
    b.needs = needs


def _linkage_needs(b: Binary) -> list[Need]:
    out: list[Need] = []
    link = b.linkage
    if b.format == "elf" and link.interpreter:
        out.append(Need("interpreter", link.interpreter, "the kernel starts the program through this loader",
                        [Evidence("segment", "PT_INTERP", link.interpreter)]))
    for lib in link.libraries:
        if b.format != "elf" and lib.system:
            continue
        why = "a shared library the loader must find" if b.format == "elf" else "a DLL/dylib that is not part of the OS"
        out.append(Need("library", lib.name, why, [Evidence("dynamic" if b.format == "elf" else "import", lib.name)]))
    if link.min_glibc:
        syms = [s.symbol for s in link.glibc_symbols[:3]]
        out.append(Need("library", f"glibc >= {link.min_glibc}", "symbol versions the loader checks at start-up",
                        [Evidence("version-need", f"GLIBC_{link.min_glibc}", ", ".join(syms))]))
    return out


def _stdlib_needs(ctx: Context) -> list[Need]:
    b = ctx.binary
    assert b.go is not None
    tables = ctx.go
    features = b.go.features or {}

    def on(name: str) -> bool:
        f = features.get(name)
        return f is not None and f.value is True
    goos = b.go.settings.get("GOOS") or b.os
    out = []
    for rule in load("stdlib_needs.toml")["need"]:
        if goos not in rule.get("goos", [goos]):
            continue
        hit = next((f for f in rule["functions"] if tables.is_linked(f)), None)
        if hit is None:
            continue
        skip = any(on(f) for f in rule.get("unless_features", []))
        if skip and not (rule["id"] == "passwd" and b.linkage.libc.flavour == "musl"):
            continue  # (musl has no NSS: with cgo its getpwuid still reads /etc/passwd)
        ev = [Evidence("function", hit, f"linked; {rule['source']}")]
        why = rule["why"]
        if rule["id"] in ("resolv-conf", "hosts", "nsswitch"):
            resolver = "cgo resolver (libc NSS)" if on("netcgo") else "pure-Go resolver"
            why = f"{why} ({resolver})"
        out.append(Need(rule["kind"], rule["what"], why, ev, required=bool(rule.get("required", True)),
                        alternatives=list(rule.get("alternatives", []))))
    if on("netcgo") and b.linkage.kind == "dynamic" and goos == "linux":
        # (glibc's NSS: on macOS the cgo resolver is libSystem's, part of the OS)
        out.append(Need("library", "libc NSS modules (libnss_files, libnss_dns)", "the cgo resolver and os/user go "
                        "through glibc's NSS, which loads modules named in /etc/nsswitch.conf",
                        [Evidence("function", "net.cgoLookupHost")], required=False))
    return out


def _release(version: str | None) -> str | None:
    if not version or not version.startswith("go"):
        return None
    return version[2:].split()[0].split("-")[0]


def _minimum(table: list[dict[str, Any]], release: str) -> dict[str, Any] | None:
    best = None
    for entry in table:
        if version_key(release) >= version_key(entry["since"]):
            if best is None or version_key(entry["since"]) >= version_key(best["since"]):
                best = entry
    return best


def _go_version_needs(b: Binary) -> list[Need]:
    assert b.go is not None
    release = _release(b.go.version)
    if release is None:
        return []
    data = load("go_versions.toml")
    goos = b.go.settings.get("GOOS") or b.os
    key = {"linux": "linux", "darwin": "macos", "windows": "windows"}.get(goos)
    entry = _minimum(data.get(key, []), release) if key else None
    if entry is None:
        return []
    ev = [Evidence("setting", "go version", f"{b.go.version}; {entry['source']}")]
    if key == "linux":
        return [Need("kernel", entry["kernel"], f"Go {release} programs need Linux {entry['kernel']} or later", ev)]
    version = entry["version"]
    name = entry.get("name", f"macOS {version}" if key == "macos" else version)
    return [Need("os", f"{key} {version}", f"Go {release} programs need {name} or later", ev)]


def _cpu_needs(b: Binary) -> list[Need]:
    assert b.go is not None
    level = b.go.settings.get("GOAMD64")
    if not level or level == "v1":
        return []
    desc = load("go_versions.toml")["cpu"]["GOAMD64"].get(level, level)
    return [Need("cpu", f"x86-64-{level}", f"built with GOAMD64={level}: {desc}",
                 [Evidence("setting", "GOAMD64", level)])]
