"""`depfree check` as a CI gate on a real release directory: it cannot be fooled by an empty or missing dist/, an
unreadable input, a preset that would swallow the file's thresholds, or a finding below --fail-on; the README's own
policy example produces the gate the README describes; SARIF (checked against the OASIS SARIF 2.1.0 JSON schema),
JUnit (read back by junitparser) and GitHub annotations name paths relative to the working directory."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from junitparser import JUnitXml

from helpers.truth import go_version_m, readelf

ROOT = Path(__file__).parent.parent
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif" / "sarif-schema-2.1.0.json"


def check(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "depfree", "check", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def has_symtab(path: Path) -> bool:
    out = subprocess.run(["readelf", "-S", "-W", str(path)], capture_output=True, text=True, check=True).stdout
    return " .symtab " in out


def readme_policy() -> str:
    """The TOML block that follows "A policy file" in README.md."""
    text = (ROOT / "README.md").read_text()
    start = text.index("A policy file (`depfree.toml`")
    m = re.search(r"```toml\n(.*?)```", text[start:], re.S)
    assert m, "README has no policy example"
    return m.group(1)


@pytest.fixture(scope="module")
def release(factory, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """A release directory as a build leaves it: <tmp>/dist with seven real binaries."""
    top = tmp_path_factory.mktemp("release")
    dist = top / "dist"
    (dist / "debug").mkdir(parents=True)
    unstripped = factory.go("plain")
    builds = {
        "app": factory.go("plain", ldflags="-s -w"),
        "old": factory.go("plain", go="1.21.13"),
        "cgo-app": factory.go("nettool", cgo=True),
        "ldap-sync": factory.go("nettool", cgo=True),
        "app-386": factory.go("plain", goarch="386", ldflags="-s -w"),
        "unstripped": unstripped,
        "debug/app": unstripped,
    }
    for name, src in builds.items():
        shutil.copy(src, dist / name)
    return top


# --- the README's policy example, run as written ------------------------------------------------------------------

def test_readme_policy_example_is_the_gate_it_describes(factory, release: Path) -> None:  # type: ignore[no-untyped-def]
    (release / "depfree.toml").write_text(readme_policy())
    try:
        proc = check("--format", "json", "dist/", cwd=release)
        text = check("dist/", cwd=release)
    finally:
        (release / "depfree.toml").unlink()
    dist = release / "dist"
    data = json.loads(proc.stdout)
    by_bin: dict[str, set[str]] = {}
    suppressed: dict[str, set[str]] = {}
    for f in data["findings"]:
        name = str(Path(f["path"]).relative_to(dist))
        (suppressed if f["suppressed"] else by_bin).setdefault(name, set()).add(f["rule"])

    # ground truth from independent tools
    gobin = factory.gobin()
    old = go_version_m(gobin, dist / "old")
    assert old is not None and old.go_version == "go1.21.13"  # older than min_go 1.22 -> DF012
    assert "DF012" in by_bin["old"]
    cgo = go_version_m(gobin, dist / "cgo-app")
    assert cgo is not None and cgo.settings.get("CGO_ENABLED") == "1"
    cgo_elf = readelf(dist / "cgo-app")
    assert cgo_elf.interpreter  # needs a loader scratch does not have -> DF016
    assert {"DF004", "DF016"} <= by_bin["cgo-app"]
    need = max((v.removeprefix("GLIBC_") for vs in cgo_elf.version_needs.values() for v in vs
                if v.startswith("GLIBC_") and v[6:7].isdigit()), key=lambda v: tuple(map(int, v.split("."))))
    assert ("DF003" in by_bin["cgo-app"]) == (tuple(map(int, need.split("."))) > (2, 28))
    # the suppression accepts ldap-sync's cgo with its reason, but not its failing to start in scratch
    assert "DF004" in suppressed["ldap-sync"] and "DF004" not in by_bin["ldap-sync"]
    assert "DF016" in by_bin["ldap-sync"]
    assert readelf(dist / "app-386").machine == "Intel 80386"
    assert "DF017" in by_bin["app-386"]
    # not stripped: a warning, except under dist/debug/ (the override)
    assert has_symtab(dist / "unstripped") and has_symtab(dist / "debug" / "app")
    assert by_bin["unstripped"] == {"DF005"}
    assert "debug/app" not in by_bin
    assert not has_symtab(dist / "app") and "app" not in by_bin
    failing = {"old", "cgo-app", "ldap-sync", "app-386"}

    assert text.returncode == 1
    lines = text.stdout.splitlines()
    assert lines[0].startswith("policy: depfree.toml on preset portable-linux; fail on error")
    for rule in ("DF003", "DF004", "DF005", "DF012", "DF016", "DF017"):
        assert rule in lines[0]
    marks = {m.group(2): m.group(1) for m in (re.match(r"^(\S) dist/(\S+)$", x) for x in lines) if m}
    assert {k for k, v in marks.items() if v == "✗"} == failing
    assert marks["unstripped"] == "⚠" and marks["app"] == "✓" and marks["debug/app"] == "✓"
    assert lines[-1].startswith(f"FAIL: {len(failing)} of 7 binaries fail at error")
    assert "PASS" not in text.stdout


def test_thresholds_turn_their_rules_on_under_a_preset(release: Path) -> None:
    (release / "p.toml").write_text('preset = "portable-linux"\nmin_go = "1.22"\ntargets = ["scratch"]\n')
    (release / "off.toml").write_text('preset = "portable-linux"\nmin_go = "1.22"\n[rules]\nDF012 = "off"\n')
    hits = {f["rule"] for f in json.loads(check("--policy", "p.toml", "--json", "dist/old", "dist/cgo-app",
                                                cwd=release).stdout)["findings"]}
    assert {"DF012", "DF016"} <= hits
    off = check("--policy", "off.toml", "dist/old", cwd=release)
    assert "DF012" not in off.stdout.split("\n", 2)[2]  # no finding; the first two lines are the policy
    assert "policy note: min_go is set but DF012 go-too-old is off in [rules]" in off.stdout


# --- the gate cannot be fooled ------------------------------------------------------------------------------------

def test_empty_or_missing_input_is_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    empty = check("--preset", "static", "dist/", cwd=tmp_path)
    assert empty.returncode == 2
    assert "no executables found under dist/" in empty.stderr and "PASS" not in empty.stdout
    allowed = check("--preset", "static", "--allow-empty", "dist/", cwd=tmp_path)
    assert allowed.returncode == 0
    missing = check("--preset", "static", "/nonexistent/app", cwd=tmp_path)
    assert missing.returncode == 2 and "PASS" not in missing.stdout
    assert "/nonexistent/app" in missing.stderr and missing.stdout.splitlines()[-1].startswith("ERROR:")


def test_an_unreadable_binary_in_dist_is_not_a_pass(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dist = tmp_path / "dist"
    dist.mkdir()
    good = factory.go("plain", ldflags="-s -w")
    shutil.copy(good, dist / "app")
    (dist / "broken").write_bytes(good.read_bytes()[:200])  # an ELF header whose program headers are cut off
    seen = subprocess.run(["readelf", "-l", str(dist / "broken")], capture_output=True, text=True, check=False)
    assert seen.returncode != 0 or "Error" in seen.stderr  # readelf cannot read it either
    proc = check("--preset", "static", "dist/", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "PASS" not in proc.stdout and "broken" in proc.stderr


def test_notes_below_fail_on_are_not_a_cross(release: Path) -> None:
    """A binary with only notes (and warnings) is ℹ/⚠, the run passes, and the summary says none fails."""
    assert has_symtab(release / "dist" / "unstripped")  # DF005 not-stripped, a note by default
    pol = release / "notes.toml"
    pol.write_text('[rules]\nDF005 = "note"\nDF006 = "note"\n')
    proc = check("--policy", str(pol), "--preset", "static", "dist/unstripped", cwd=release)
    assert proc.returncode == 0, proc.stdout
    lines = proc.stdout.splitlines()
    assert lines[1] == "ℹ dist/unstripped"
    assert not any(x.startswith("✗") for x in lines)
    assert lines[-1].startswith("PASS: 1 binary, none fails at error")
    warn = check("--policy", str(pol), "--preset", "static", "--fail-on", "note", "dist/unstripped", cwd=release)
    assert warn.returncode == 1 and "✗ dist/unstripped" in warn.stdout and "PASS" not in warn.stdout


# --- CI formats: paths relative to the working directory, whatever the argument -------------------------------------

@pytest.mark.parametrize("form", ["dist", "./dist/", "ABS"])
def test_sarif_is_valid_and_relative_to_srcroot(release: Path, form: str) -> None:
    arg = str(release / "dist") if form == "ABS" else form
    proc = check("--format", "sarif", arg, cwd=release)
    assert proc.returncode == 1
    log = json.loads(proc.stdout)
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft4Validator(schema).validate(log)
    run = log["runs"][0]
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base == release.resolve().as_uri() + "/"
    uris = set()
    for res in run["results"]:
        loc = res["locations"][0]["physicalLocation"]["artifactLocation"]
        assert loc["uriBaseId"] == "%SRCROOT%" and not loc["uri"].startswith(("/", "file:"))
        assert (release / loc["uri"]).is_file()
        uris.add(loc["uri"])
    assert {"dist/old", "dist/cgo-app", "dist/app-386"} <= uris


@pytest.mark.parametrize("form", ["dist", "ABS"])
def test_github_annotations_name_repo_relative_paths(release: Path, form: str) -> None:
    arg = str(release / "dist") if form == "ABS" else form
    lines = check("--format", "github", "--preset", "static", arg, cwd=release).stdout.splitlines()
    files = {m.group(1) for m in (re.match(r"::\w+ file=([^,]+),", x) for x in lines) if m}
    assert "dist/cgo-app" in files and all(f.startswith("dist/") for f in files)
    assert all((release / f).is_file() for f in files)


def test_junit_fails_only_at_or_above_fail_on(release: Path) -> None:
    pol = release / "j.toml"
    pol.write_text('[rules]\nDF005 = "warning"\n')
    report = release / "junit.xml"
    proc = check("--policy", str(pol), "--preset", "static", "--format", "junit", "-o", str(report), "dist/",
                 cwd=release)
    assert proc.returncode == 1 and proc.stdout == ""
    as_json = json.loads(check("--policy", str(pol), "--preset", "static", "--json", "dist/", cwd=release).stdout)
    xml = JUnitXml.fromfile(str(report))
    failed, passed_with_output = set(), set()
    for suite in xml:
        for case in suite:
            if case.is_failure:
                failed.add((suite.name, case.name.split()[0]))
            elif case.is_passed and case.system_out:
                passed_with_output.add((suite.name, case.name.split()[0]))
                assert "below fail_on=error" in case.system_out
    rel = {f["path"]: str(Path(f["path"]).relative_to(release)) for f in as_json["findings"]}
    expect_failed = {(rel[f["path"]], f["rule"]) for f in as_json["findings"] if f["severity"] == "error"}
    expect_passed = {(rel[f["path"]], f["rule"]) for f in as_json["findings"] if f["severity"] != "error"}
    assert failed == expect_failed and ("dist/cgo-app", "DF001") in failed
    assert passed_with_output == expect_passed and ("dist/unstripped", "DF005") in passed_with_output
    for suite in xml:
        assert suite.failures == sum(1 for c in suite if c.is_failure)


def test_flags_and_overrides_follow_the_documented_rule(release: Path) -> None:
    """docs/policy.md: --preset replaces the file's preset (and says so); a threshold set in an override turns its
    rule on for the matching paths only."""
    (release / "o.toml").write_text('preset = "hardened"\n[[overrides]]\npaths = ["dist/old"]\nmin_go = "1.22"\n')
    (release / "other").mkdir(exist_ok=True)
    shutil.copy(release / "dist" / "old", release / "other" / "old")  # the same Go 1.21 build, outside the glob
    proc = check("--policy", "o.toml", "--preset", "static", "--json", "dist/old", "other/old", cwd=release)
    data = json.loads(proc.stdout)
    assert data["policy"]["source"] == "o.toml on preset static"
    assert "--preset static replaces the file's preset 'hardened'" in data["policy"]["notes"]
    df012 = {f["path"] for f in data["findings"] if f["rule"] == "DF012"}
    assert df012 == {"dist/old"}


def test_sarif_locations_of_archive_members_point_at_the_archive(release: Path) -> None:
    import tarfile

    with tarfile.open(release / "rel.tar.gz", "w:gz") as tar:
        tar.add(release / "dist" / "cgo-app", arcname="bin/cgo-app")
    log = json.loads(check("--preset", "static", "--format", "sarif", str(release / "rel.tar.gz"), cwd=release).stdout)
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(log)
    results = log["runs"][0]["results"]
    assert results and all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "rel.tar.gz"
                           for r in results)
    assert all(r["message"]["text"].startswith("bin/cgo-app: ") for r in results)


def test_readme_installs_only_what_exists() -> None:
    """The quick start works from a clone in a venv; no install line names a URL or tag that was never published."""
    text = (ROOT / "README.md").read_text()
    quick = text[text.index("## Quick start"):text.index("## Run the tests")]
    assert "Inside a clone of this repository, in a venv" in quick and "pip install -e '.[go]'" in quick
    for line in text.splitlines():
        if "pip install" in line or line.strip().startswith(("rev:", "- repo:")):
            assert "git+" not in line and "://" not in line and "rev: v" not in line, line
    for script in re.findall(r"^\s*(?:python3 -m )?pip install (\S+)", text, re.M):
        assert script.startswith(("-e", "/path/to/depfree", "./depfree", "'.[")), script


def test_sarif_uri_of_a_file_outside_the_working_directory(tmp_path: Path) -> None:
    from depfree.render.paths import repo_uri

    inside = tmp_path / "repo"
    (inside / "dist").mkdir(parents=True)
    assert repo_uri(str(inside / "dist" / "my app"), cwd=str(inside)) == ("dist/my%20app", True)
    assert repo_uri("dist/app.tar.gz!bin/app [arm64]", cwd=str(inside)) == ("dist/app.tar.gz", True)
    assert repo_uri("/usr/bin/true", cwd=str(inside)) == ("file:///usr/bin/true", False)
