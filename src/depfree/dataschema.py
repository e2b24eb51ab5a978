"""The schema of every knowledge file in ``depfree/data``, checked by :func:`depfree.datafiles.load` when the file
is first loaded (see datafiles.py for the spec language). A new data file needs its line here; a new key in one,
its name in that file's table (``name?`` when entries may leave it out)."""

from __future__ import annotations

from depfree.datafiles import ANY, ListOf, MapOf, OneOf, Spec, Table

STRS = ListOf(str)
SEVERITY = OneOf(("note", "warning", "error"))


def sourced(rest: Spec | None = None, **keys: Spec) -> Table:
    """A table with a ``source`` citing where its knowledge comes from; ``name_`` stands for an optional ``name?``."""
    return Table({"source": str, **{k.removesuffix("_") + ("?" if k.endswith("_") else ""): v
                                    for k, v in keys.items()}}, rest)


CONTEXT = Table({"kinds": STRS, "noun": str, "carries": ListOf(OneOf(("interpreter", "library", "file"))),
                 "libraries": OneOf(("inside", "depends", "platform-tag", "host")),
                 "provided?": OneOf(("runtime_files",)), "source": str})

TARGET = Table({"os": str, "arch": ListOf(str), "libc": str, "files": STRS, "interpreters": STRS, "cpu?": str,
                "source": str, "libc_version?": str, "default?": bool, "kernel?": str, "os_version?": str,
                "container?": bool, "libraries?": STRS})

VARIANT = Table({"description": str, "source": str, "cgo?": bool, "ldflags?": STRS, "tags?": STRS,
                 "buildmode?": str, "trimpath?": bool, "env?": MapOf(str), "cc?": str, "install?": str})

# a DLL, API-set prefix or function that ships only from a Windows release on (targets/windows.py)
SINCE = sourced(version=str, update_=str)

STDLIB_NEED = Table({"id": str, "kind": OneOf(("file", "dir", "env", "library")), "what": str,
                     "alternatives?": STRS, "why": str, "functions": STRS, "goos?": STRS, "required?": bool,
                     "source": str, "unless_features?": STRS})

SCHEMAS: dict[str, Spec] = {
    "contexts.toml": Table({
        "runtime_files": sourced(paths=STRS, by=str), "host_libraries": sourced(names=STRS, prefixes=STRS),
        "context": MapOf(CONTEXT), "rootfs": sourced(markers=STRS)}),
    "fortify.toml": Table({"meta": sourced(libc6_=str),
                           "functions": MapOf(Table({"version": str, "checks": STRS, "source?": str}))}),
    "glibc.toml": Table({"version_tags": MapOf(sourced(min_=str))}),
    "go_versions.toml": Table({
        "linux": ListOf(sourced(since=str, kernel=str)), "macos": ListOf(sourced(since=str, version=str)),
        "windows": ListOf(sourced(since=str, version=str, name_=str)), "cpu": MapOf(sourced(str))}),
    "hardening.toml": Table({"stack_default": sourced(bool), "canary_load": sourced(str),
                             "rpath_risk": sourced(world_writable=STRS)}),
    "macos.toml": Table({"system_paths": sourced(prefixes=STRS, relative_prefixes=STRS),
                         "c_runtime": sourced(libsystem=STRS), "cpu_types": sourced(str), "platforms": sourced(str),
                         "macos_names": sourced(str)}),
    "packers.toml": MapOf(sourced(name=str, pe_sections=STRS, magic_=str, strings_=STRS)),
    # a preset is a policy: policy/config.py checks its keys as it checks a policy file's
    "presets.toml": MapOf(Table({"description": str, "source?": str}, rest=ANY)),
    "rules.toml": MapOf(Table({"name": str, "severity": SEVERITY, "summary": str, "fix": str})),
    "size_categories.toml": MapOf(sourced(label=str, why=str, sections_=STRS)),
    "static_libc.toml": Table({
        "sign": ListOf(sourced(libc=str, kind=str, code_=bool, value=str, why=str)),
        "irelative_types": sourced(int)}),
    "stdlib_needs.toml": Table({"need": ListOf(STDLIB_NEED)}),
    "targets.toml": MapOf(TARGET),
    "variants.toml": MapOf(VARIANT),
    "wheel_policies.toml": Table({
        "aliases": sourced(str),
        "manylinux": sourced(libraries=STRS, since=MapOf(STRS), symbol_versions=sourced(MapOf(str))),
        "musllinux": sourced(libraries=STRS)}),
    "windows.toml": Table({
        "system_dlls": sourced(names=STRS, api_set_prefixes=STRS),
        "system32": sourced(names=STRS, since=MapOf(SINCE), since_prefix_=MapOf(SINCE), functions_=MapOf(SINCE)),
        "c_runtimes": sourced(Table({"dlls?": STRS, "prefixes?": STRS, "system": bool, "note": str})),
        "versions": sourced(str), "subsystems": sourced(str), "machines": sourced(str)}),
}
