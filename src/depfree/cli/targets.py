"""``depfree targets FILE... [--target NAME...]``: will it run there? A matrix of ✓ / ⚠ / ✗ with reasons and fixes."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from depfree.api import inspect
from depfree.cli.common import (
    EXIT_FAIL,
    EXIT_INPUT,
    EXIT_OK,
    Output,
    examples,
    friendly_errors,
    hash_option,
    output_options,
    print_error,
)
from depfree.dataclass import dataclass
from depfree.errors import UsageError
from depfree.model import Report, to_json
from depfree.model_verdicts import TargetVerdict
from depfree.options import Options
from depfree.render.targets import print_targets
from depfree.targets.profiles import Profile, builtin, load_profiles, select

SCHEMA = "depfree.targets/1"


@dataclass
class TargetsResult:
    report: Report
    selected: list[str]  # the columns: the named targets, or every target of the binaries' default sets

    def cells(self) -> list[TargetVerdict]:
        return [t for b in self.report.binaries for t in (b.targets or [])]

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "targets": to_json(self.cells()), "errors": [e.__dict__ for e in self.report.errors]}


@dataclass
class ProfileList:
    """``depfree targets --list``: every profile with its libc, versions and source."""

    profiles: dict[str, Profile]

    def to_json(self) -> dict[str, Any]:
        return {"schema": "depfree.target-profiles/1", "profiles": [
            {"name": n, "os": p.os, "arch": p.arch, "libc": p.libc, "libc_version": p.libc_version,
             "kernel": p.kernel, "os_version": p.os_version, "container": p.container, "default": p.default,
             "source": p.source} for n, p in self.profiles.items()]}


def _versions(p: Profile) -> str:
    parts = [f"{p.libc} {p.libc_version}" if p.libc_version else p.libc]
    if p.kernel:
        parts.append(f"kernel {p.kernel}")
    if p.os_version:
        parts.append(f"{p.os} {p.os_version}")
    return ", ".join(parts)


def _print_list(r: ProfileList, out: Output) -> None:
    from rich.markup import escape

    from depfree.render.table import print_table

    rows = [[escape(n), p.os + (" (container)" if p.container else ""), ",".join(p.arch), escape(_versions(p)),
             "✓" if p.default else "", escape(p.source)] for n, p in r.profiles.items()]
    print_table(out.console(), ["profile", "os", "arch", "libc / versions", "default", "source"], rows)


RENDERERS = {
    "text": lambda r, out: _print_list(r, out) if isinstance(r, ProfileList) else print_targets(
        out.console(), r.report.binaries, r.selected),
    "json": lambda r, out: json.dumps(r.to_json(), indent=2, ensure_ascii=False),
}


def _known() -> str:
    try:
        return ", ".join(sorted(builtin()))
    except Exception:  # noqa: BLE001 - --help must print even if the data file is broken; the run reports it
        return "see data/targets.toml"


@click.command("targets", epilog=examples(
    "depfree targets dist/app                     # the default set of the binary's OS",
    "depfree targets -t scratch -t alpine-3.20 dist/app dist/app-static",
    "depfree targets esbuild -t macos-15          # a Mach-O on current macOS",
    "depfree targets --root / dist/app            # also on this machine's root filesystem",
    "depfree targets --list                       # every profile, its libc, versions and source",
    "depfree targets --all --json dist/app | jq '.targets[] | select(.verdict == \"fail\")'"))
@click.argument("files", nargs=-1, type=click.Path())
@click.option("--target", "-t", "names", multiple=True,
              help=f"A target profile (repeatable; default: the set for each binary's OS — Linux images and "
                   f"distributions, current Windows, current macOS). Known: {_known()}.")
@click.option("--targets-file", type=click.Path(), help="Extra target profiles (TOML, same keys as data/targets.toml; "
              "`default = true` joins the default set of its OS).")
@click.option("--all", "all_targets", is_flag=True, help="Every known target.")
@click.option("--list", "list_targets", is_flag=True, help="List every profile (os, arch, libc and versions, source).")
@click.option("--root", "root", type=click.Path(), default=None, metavar="DIR",
              help="Also judge each FILE on this root filesystem (libraries, interpreter, files looked up there).")
@output_options(RENDERERS)
@hash_option(default=False)
@friendly_errors
def targets_cmd(files: tuple[str, ...], names: tuple[str, ...], targets_file: str | None, all_targets: bool,
                list_targets: bool, root: str | None, out: Output, hash_files: bool) -> None:
    """Judge each FILE on each target; exit 0 when nothing fails, 1 when a cell fails, 2 on bad input."""
    profiles = load_profiles(targets_file)
    if list_targets:
        out.emit(ProfileList(profiles))
        sys.exit(EXIT_OK)
    if not files:
        raise UsageError("expected FILE... (or --list)")
    if root is not None:
        from depfree.targets.root import check_root

        check_root(root)
    chosen = sorted(profiles) if all_targets else (list(names) or None)
    if chosen:
        select(profiles, chosen)  # an unknown name is a usage error before anything is read
    report = inspect(list(files), options=Options(targets=chosen, targets_file=targets_file,
                                                          hash=hash_files))
    if root is not None:
        from depfree.targets.root import resolve_in_root, root_cell

        resolve_in_root(report.binaries, root)
        for b in report.binaries:
            b.targets = [*(b.targets or []), root_cell(b, root)]
    for err in report.errors:
        print_error(err.path, err.error)
    selected = list(dict.fromkeys(t.target for b in report.binaries for t in (b.targets or [])))
    result = TargetsResult(report, selected)
    out.emit(result)
    if report.errors:
        sys.exit(EXIT_INPUT)
    sys.exit(EXIT_FAIL if any(t.verdict == "fail" for t in result.cells()) else EXIT_OK)
