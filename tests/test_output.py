"""One output convention for every verb, and text that reads well in a terminal (a real pseudo-terminal 80 and 160
columns wide), a CI log and a pipe: paths never cut, one record per line when a table does not fit, reasons headed
by their binary and printed once for all the targets they apply to, yes/no/n/a/unknown, evidence behind -v."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
from pathlib import Path

import click
import pytest

from depfree.cli.main import COMMANDS
from helpers.terminal import in_terminal, through_pipe
from helpers.truth import readelf

LONG = "a-release-directory-with-a-name-long-enough-to-overflow-eighty-columns"
VALUES = {"yes", "no", "n/a", "unknown", "full", "partial"}


@pytest.fixture(scope="module")
def dist(factory, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    top = tmp_path_factory.mktemp("out") / LONG
    top.mkdir()
    for name, src in {"server-linux-amd64-static-build": factory.go("nettool"),
                      "server-linux-amd64-cgo-build": factory.go("nettool", cgo=True),
                      "hello-c-program-built-by-gcc": factory.c("hello.c")}.items():
        shutil.copy(src, top / name)
    (top / "README.txt").write_text("not a binary\n")
    return top


def binaries(d: Path) -> list[Path]:
    return sorted(p for p in d.iterdir() if p.read_bytes()[:4] == b"\x7fELF")


def screens(args: list[str]) -> dict[str, str]:
    """What the user sees for ``depfree ARGS`` at 80 and 160 columns and what a pipe gets."""
    out = {}
    for cols in (80, 160):
        rc, text = in_terminal(args, cols)
        assert "Traceback" not in text, text
        out[f"tty{cols}"] = text
    piped = through_pipe(args)
    assert "Traceback" not in piped.stderr and "\x1b[" not in piped.stdout
    out["pipe"] = piped.stdout
    return out


def test_targets_never_cut_paths_and_group_reasons(dist: Path) -> None:
    bins = [str(p) for p in binaries(dist)]
    for where, text in {**screens(["targets", *bins]), **{f"all-{k}": v for k, v in
                                                          screens(["targets", "--all", *bins]).items()}}.items():
        assert "…" not in text, (where, text)
        for b in bins:
            assert b in text, (where, b)
        reasons = [x for x in text.splitlines() if re.search(r": [✗⚠] ", x)]
        assert reasons, where
        for line in reasons:
            assert any(line.startswith(b + ": ") for b in bins), (where, line)
    # the pure-Go build reads the zoneinfo database: one line for all the targets that lack it, not one per target
    # (/etc/resolv.conf is no reason on these container targets: the container runtime writes it)
    static = str(dist / "server-linux-amd64-static-build")
    piped = through_pipe(["targets", "-t", "scratch", "-t", "distroless-static", "-t", "alpine-3.20", static]).stdout
    lines = [x for x in piped.splitlines() if x.startswith(static + ": ") and "/usr/share/zoneinfo" in x]
    assert len(lines) == 1 and "scratch, alpine-3.20" in lines[0], piped
    assert "/etc/resolv.conf not in" not in piped


def test_targets_with_many_targets_turn_sideways(dist: Path) -> None:
    one = str(dist / "hello-c-program-built-by-gcc")
    out = through_pipe(["targets", "--all", one]).stdout.splitlines()
    assert out[0] == f"#1 {one}"
    assert out[1].split() == ["target", "#1"]
    assert any(x.split()[:1] == ["scratch"] for x in out[2:])


def test_hardening_values_and_whole_paths(dist: Path) -> None:
    bins = [str(p) for p in binaries(dist)]
    views = screens(["hardening", *bins])
    for where, text in views.items():
        assert "True" not in text and "False" not in text and "…" not in text, (where, text)
        for b in bins:
            assert b in text, (where, b)
    table = [x.split() for x in views["pipe"].splitlines()]
    head = table[0]
    assert head[0] == "path"
    rows = {r[0]: dict(zip(head, r, strict=False)) for r in table[1:] if r and r[0] in bins}
    assert set(rows) == set(bins)
    for col in ("relro", "pie", "nx", "canary", "symtab"):
        assert all(r[col] in VALUES for r in rows.values()), col
    static = str(dist / "server-linux-amd64-static-build")
    assert readelf(static).interpreter is None and rows[static]["relro"] == "n/a"
    # the n/a reason is in the text, headed by the binary
    assert any(x.startswith(static + ": ") and "relro" in x and "n/a" in x for x in views["pipe"].splitlines())
    # a table wider than 80 columns becomes one record per line
    rec = [x for x in views["tty80"].splitlines() if x.startswith(static + ": relro ")]
    assert rec, views["tty80"]
    verbose = through_pipe(["hardening", "-v", bins[0]]).stdout
    assert "evidence:" in verbose and "evidence:" not in views["pipe"]


def test_inspect_brief_verbose_and_all(factory, dist: Path) -> None:  # type: ignore[no-untyped-def]
    brief = through_pipe(["inspect", "--brief", str(dist)])
    lines = brief.stdout.splitlines()
    elf = [p for p in dist.iterdir() if subprocess.run(["readelf", "-h", str(p)], capture_output=True,
                                                       check=False).returncode == 0]
    assert len(lines) == len(elf) == 3
    assert sorted(x.split(": ", 1)[0] for x in lines) == sorted(map(str, elf))
    assert brief.stderr == ""  # no progress bar in a pipe
    cgo = str(dist / "server-linux-amd64-cgo-build")
    plain = through_pipe(["inspect", cgo]).stdout
    verbose = through_pipe(["inspect", "-v", cgo]).stdout
    assert "evidence:" not in plain
    interp = readelf(cgo).interpreter
    assert interp and any(x.startswith("        evidence: segment PT_INTERP") and interp in x
                          for x in verbose.splitlines())
    deep = str(factory.go("nettool"))
    short = through_pipe(["inspect", "--deep", deep]).stdout
    full = through_pipe(["inspect", "--deep", "--all", deep]).stdout
    m = re.search(r"… (\d+) more packages \(--all lists them\)", short)
    assert m, short
    pkg = re.compile(r"^\s+[\d,]+\s+(\S+)\s")
    listed_short = [pkg.match(x).group(1) for x in short.splitlines() if pkg.match(x)]
    listed_full = [pkg.match(x).group(1) for x in full.splitlines() if pkg.match(x)]
    assert len(listed_short) == 10 and len(listed_full) == 10 + int(m.group(1))
    for imported in ("crypto/tls", "net/http", "os/user", "main"):  # nettool's own imports (its source)
        assert imported in listed_full


def _verb(name: str) -> click.Command:
    module, attr = COMMANDS[name].split(":")
    return getattr(importlib.import_module(module), attr)


@pytest.mark.parametrize("verb", sorted(COMMANDS))
def test_every_verb_has_format_json_output_and_examples(verb: str) -> None:
    cmd = _verb(verb)
    opts = {o for p in cmd.params for o in p.opts}
    assert {"--format", "--json", "-o", "--output"} <= opts, verb
    fmt = next(p for p in cmd.params if "--format" in p.opts)
    assert {"text", "json"} <= set(fmt.type.choices)  # type: ignore[attr-defined]
    helptext = through_pipe([verb, "--help"]).stdout
    examples = helptext.split("Examples:", 1)[1].splitlines()
    assert any(x.strip().startswith(f"depfree {verb}") for x in examples), helptext


def in_process(args: list[str]) -> tuple[int, str]:
    """``depfree ARGS`` in this process (click's runner: stdout is not a terminal, as in a pipe)."""
    from click.testing import CliRunner

    from depfree.cli.main import cli

    res = CliRunner().invoke(cli, args)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.output


def test_json_alias_and_output_file(dist: Path, tmp_path: Path) -> None:
    one = str(dist / "hello-c-program-built-by-gcc")
    for args in (["explain", "DF003"], ["rules"], ["hardening", one], ["inspect", one], ["targets", one]):
        a = in_process([*args, "--json"])
        b = in_process([*args, "--format", "json"])
        assert a == b and a[1].lstrip().startswith("{"), args
        out = tmp_path / "out.txt"
        c = in_process([*args, "-o", str(out)])
        text = in_process(args)
        assert c == (text[0], "") and out.read_text() == text[1], args
    both = through_pipe(["inspect", "--json", "--format", "text", one])
    assert both.returncode == 2 and "--json is --format json" in both.stderr


def test_rules_and_explain_come_from_the_catalogue() -> None:
    import tomllib

    rules = tomllib.loads((Path(__file__).parent.parent / "src" / "depfree" / "data" / "rules.toml").read_text())
    listed = through_pipe(["rules"]).stdout.splitlines()
    assert [x.split()[0] for x in listed] == list(rules)
    text = through_pipe(["explain", "DF003"]).stdout
    assert text.startswith(f"DF003 {rules['DF003']['name']}") and rules["DF003"]["fix"] in text
    assert "max_glibc" in text
    by_name = through_pipe(["explain", rules["DF004"]["name"]]).stdout
    assert by_name.startswith("DF004 ")
    bad = through_pipe(["explain", "DF999"])
    assert bad.returncode == 2 and "unknown rule 'DF999'" in bad.stderr


@pytest.mark.parametrize(("args", "label"), [(["hardening", "-r"], "hardening"), (["inspect"], "inspecting"),
                                             (["check", "--preset", "static"], "checking")])
def test_progress_bar_on_a_terminal_only(dist: Path, args: list[str], label: str) -> None:
    _, seen = in_terminal([*args, str(dist)], 120)
    assert re.search(label + r" +━", seen), seen[:500]
    piped = through_pipe([*args, str(dist)])
    assert label not in piped.stderr and "━" not in piped.stderr + piped.stdout


def test_size_all_lists_every_row(factory) -> None:  # type: ignore[no-untyped-def]
    import json

    exe = str(factory.go("nettool"))
    data = json.loads(in_process(["size", "--json", exe])[1])["binaries"][0]
    short = in_process(["size", exe])[1]
    full = in_process(["size", "--all", exe])[1]
    assert len(data["packages"]) > 20 and "more (--all lists them)" in short
    assert "more (--all lists them)" not in full
    for p in data["packages"]:
        assert f"  {p['name']}  ({p['kind']})" in full or f"  {p['name']}" in full
    assert full.count("\n") == short.count("\n") + sum(max(0, len(data[k]) - 20) - (len(data[k]) > 20)
                                                       for k in ("sections", "packages", "modules"))


def test_check_list_rules_is_depfree_rules() -> None:
    assert in_process(["check", "--list-rules"]) == in_process(["rules"])
