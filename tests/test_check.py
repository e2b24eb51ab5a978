"""`depfree check`: policies, presets, rules on real fixtures, suppressions, baselines, output formats, exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import xmlschema
from pydantic_sarif.model import StaticAnalysisResultsFormatSarifVersion210JsonSchema as SarifLog

from depfree.errors import UsageError
from depfree.policy.catalog import catalog
from depfree.policy.config import load_policy

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


def check(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "depfree", "check", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd, check=False)


def policy_file(tmp_path: Path, text: str, name: str = "depfree.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def findings(proc: subprocess.CompletedProcess[str]) -> list[dict]:
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)["findings"]


def rules_hit(proc: subprocess.CompletedProcess[str]) -> set[str]:
    return {f["rule"] for f in findings(proc) if not f["suppressed"] and not f["baselined"]}


# --- rules on real fixtures: each has a failing and a passing binary -------------------------------------------

@pytest.fixture(scope="module")
def bins(factory) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    return {
        "cgo": factory.go("nettool", cgo=True),
        "static": factory.go("nettool"),
        "go121": factory.go("plain", go="1.21.13"),
        "withdeps": factory.go("withdeps"),
        "arm64": factory.go("plain", goarch="arm64"),
        "c": factory.c("hello.c"),
    }


@pytest.mark.parametrize(("rule", "settings", "failing", "passing"), [
    ("DF001", "", "cgo", "static"),
    ("DF002", "", "cgo", "static"),
    ("DF003", 'max_glibc = "2.17"', "cgo", "static"),
    ("DF004", "", "cgo", "static"),
    ("DF012", 'min_go = "1.22"', "go121", "static"),
    ("DF013", "", "withdeps", "static"),
    ("DF017", 'allowed_arch = ["amd64"]', "arm64", "static"),
    ("DF018", 'allowed_os = ["windows"]', "static", None),
])
def test_rule_fails_and_passes(tmp_path: Path, bins: dict[str, Path], rule: str, settings: str, failing: str,
                               passing: str | None) -> None:
    pol = policy_file(tmp_path, f'{settings}\n[rules]\n{rule} = "error"\n')
    bad = check("--policy", str(pol), "--format", "json", str(bins[failing]))
    assert bad.returncode == 1, bad.stderr
    hits = [f for f in findings(bad) if f["rule"] == rule]
    assert hits and hits[0]["evidence"] is not None and hits[0]["fix"]
    if passing:
        good = check("--policy", str(pol), "--format", "json", str(bins[passing]))
        assert rule not in rules_hit(good)


def test_glibc_too_new_agrees_with_readelf(tmp_path: Path, bins: dict[str, Path]) -> None:
    from helpers.truth import readelf

    need = readelf(bins["cgo"]).min_glibc
    assert need is not None
    ok = policy_file(tmp_path, f'max_glibc = "{need}"\n[rules]\nDF003 = "error"\n', "ok.toml")
    assert check("--policy", str(ok), "--format", "json", str(bins["cgo"])).returncode in (0, 1)
    assert "DF003" not in rules_hit(check("--policy", str(ok), "--format", "json", str(bins["cgo"])))
    major, minor = need.split(".")[:2]
    older = f"{major}.{int(minor) - 1}"
    bad = policy_file(tmp_path, f'max_glibc = "{older}"\n[rules]\nDF003 = "error"\n', "bad.toml")
    f = [x for x in findings(check("--policy", str(bad), "--format", "json", str(bins["cgo"]))) if x["rule"] == "DF003"]
    assert f and f"glibc {need}" in f[0]["message"]


def test_presets(bins: dict[str, Path]) -> None:
    static = check("--preset", "static", str(bins["static"]))
    assert static.returncode == 0, static.stdout
    cgo = check("--preset", "static", "--format", "json", str(bins["cgo"]))
    assert cgo.returncode == 1 and {"DF001", "DF002", "DF004"} <= rules_hit(cgo)
    portable = check("--preset", "portable-linux", "--format", "json", str(bins["cgo"]), str(bins["arm64"]))
    assert "DF003" in rules_hit(portable) or json.loads(portable.stdout)["policy"]["max_glibc"] == "2.28"


def test_fail_on_threshold(tmp_path: Path, bins: dict[str, Path]) -> None:
    pol = policy_file(tmp_path, '[rules]\nDF001 = "off"\nDF002 = "off"\nDF004 = "warning"\n')
    assert check("--policy", str(pol), str(bins["cgo"])).returncode == 0
    assert check("--policy", str(pol), "--fail-on", "warning", str(bins["cgo"])).returncode == 1


def test_overrides_per_path(tmp_path: Path, bins: dict[str, Path]) -> None:
    pol = policy_file(tmp_path, f'[rules]\nDF004 = "error"\n[[overrides]]\npaths = ["{bins["cgo"].parent}/*"]\n'
                                'rules = { DF004 = "off", DF001 = "off", DF002 = "off" }\n')
    assert check("--policy", str(pol), str(bins["cgo"])).returncode == 0


def test_suppression_with_reason(tmp_path: Path, bins: dict[str, Path]) -> None:
    pol = policy_file(tmp_path, '[rules]\nDF001 = "off"\nDF002 = "off"\nDF004 = "error"\n'
                                '[[suppressions]]\nrule = "cgo-enabled"\npath = "*"\nreason = "needs NSS for LDAP users"\n')
    proc = check("--policy", str(pol), "--format", "json", str(bins["cgo"]))
    assert proc.returncode == 0
    sup = [f for f in findings(proc) if f["rule"] == "DF004"]
    assert sup and sup[0]["suppressed"] == "needs NSS for LDAP users"


def test_baseline_round_trip(tmp_path: Path, bins: dict[str, Path]) -> None:
    base = tmp_path / "baseline.json"
    first = check("--write-baseline", str(base), str(bins["cgo"]))
    assert first.returncode == 0 and base.exists()
    again = check("--baseline", str(base), "--format", "json", str(bins["cgo"]))
    assert again.returncode == 0
    assert all(f["baselined"] for f in findings(again))
    # a new binary brings new findings that the baseline does not cover
    more = check("--baseline", str(base), str(bins["cgo"]), str(bins["c"]))
    assert more.returncode == 1


# --- malformed policies: clear errors with the line ---------------------------------------------------------------

@pytest.mark.parametrize(("text", "expect"), [
    ('max_glbc = "2.17"\n', "depfree.toml:1: unknown key 'max_glbc'"),
    ('fail_on = "error"\nallowed_arch = "amd64"\n', "depfree.toml:2: 'allowed_arch' must be a list of strings"),
    ('\n\n[rules]\nDF999 = "error"\n', "depfree.toml:4: unknown rule 'DF999'"),
    ('[rules]\nDF001 = "fatal"\n', "depfree.toml:2: severity of DF001 must be one of"),
    ('[[suppressions]]\nrule = "DF001"\npath = "*"\n', "needs a 'reason'"),
    ('[[suppressions]]\nrule = "DF001"\nreason = "  "\n', "needs a 'reason'"),
    ('max_glibc = "latest"\n', "max_glibc must be a version"),
    ('fail_on = "fatal"\n', "fail_on must be one of"),
    ("[rules\n", "not valid TOML"),
    ('preset = "nope"\n', "unknown preset 'nope'"),
    ('[[overrides]]\nrules = { DF001 = "off" }\n', "needs 'paths'"),
])
def test_malformed_policy(tmp_path: Path, text: str, expect: str) -> None:
    pol = policy_file(tmp_path, text)
    proc = check("--policy", str(pol), "/bin/true")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert expect in proc.stderr, proc.stderr


@pytest.mark.parametrize(("name", "text", "expect"), [
    # the same line at the top level is fine; the override's own line and entry are named (issue 18)
    ("depfree.toml", 'max_glibc = "2.31"\n[[overrides]]\npaths = ["a/*"]\n\n[[overrides]]\npaths = ["b/*"]\n'
     "max_glibc = 2.28\n", "depfree.toml:7 (in [[overrides]] #2): 'max_glibc' must be a string, found float"),
    ("depfree.toml", '[[overrides]]\npaths = ["a"]\nallowed_os = "linux"\n',
     "depfree.toml:3 (in [[overrides]] #1): 'allowed_os' must be a list of strings"),
    ("depfree.toml", '[rules]\nDF001 = "note"\n[[overrides]]\npaths = ["a"]\n[overrides.rules]\nDF001 = "bad"\n',
     "depfree.toml:6 (in [[overrides]] #1): severity of DF001 must be one of"),
    ("depfree.toml", 'overrides = [{ paths = ["a"], min_go = 1.22 }]\n',
     "depfree.toml:1 (in [[overrides]] #1): 'min_go' must be a string, found float"),
    ("pyproject.toml", '[tool.depfree]\nmin_go = "1.21"\n[[tool.depfree.overrides]]\npaths = ["a"]\nmin_go = 1.22\n',
     "pyproject.toml:5 (in [[overrides]] #1): 'min_go' must be a string, found float"),
])
def test_malformed_override_names_its_line_and_entry(tmp_path: Path, name: str, text: str, expect: str) -> None:
    pol = policy_file(tmp_path, text, name)
    proc = check("--policy", str(pol), "/bin/true")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert expect in proc.stderr, proc.stderr
    with pytest.raises(UsageError, match=re.escape(expect)):
        load_policy(str(pol))


def test_policy_discovery_and_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.depfree]\nfail_on = "note"\n'
                                             '[tool.depfree.rules]\nDF001 = "note"\n')
    assert check("/bin/true", cwd=tmp_path).returncode == 1  # /bin/true is dynamic; note fails at fail_on=note
    p = load_policy(str(tmp_path / "pyproject.toml"))
    assert p.fail_on == "note" and p.rules["DF001"] == "note"
    (tmp_path / "other.toml").write_text('[project]\nname = "y"\n')
    (tmp_path / "pyproject2").mkdir()
    bare = tmp_path / "pyproject2" / "pyproject.toml"
    bare.write_text('[project]\nname = "y"\n')
    with pytest.raises(UsageError, match=r"no \[tool.depfree\] table"):
        load_policy(str(bare))


def test_missing_inputs_exit_2(tmp_path: Path) -> None:
    proc = check(str(tmp_path / "missing"))
    assert proc.returncode == 2 and "missing" in proc.stderr and "Traceback" not in proc.stderr
    assert check("--policy", str(tmp_path / "nope.toml"), "/bin/true").returncode == 2
    assert check("--baseline", str(policy_file(tmp_path, "{", "b.json")), "/bin/true").returncode == 2


# --- output formats validate -----------------------------------------------------------------------------------

def test_sarif_validates_against_the_official_schema(bins: dict[str, Path]) -> None:
    """pydantic-sarif is generated from the OASIS sarif-schema-2.1.0.json with extra fields forbidden."""
    proc = check("--format", "sarif", str(bins["cgo"]), str(bins["static"]))
    data = json.loads(proc.stdout)
    SarifLog.model_validate(data)
    run = data["runs"][0]
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert all(run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"] for r in run["results"])
    assert {"DF001", "DF002"} <= {r["ruleId"] for r in run["results"]} and "DF001" in ids
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"])


def test_junit_validates(bins: dict[str, Path]) -> None:
    proc = check("--preset", "static", "--format", "junit", str(bins["cgo"]), str(bins["static"]))
    schema = xmlschema.XMLSchema(str(DATA / "junit.xsd"))
    schema.validate(proc.stdout)
    doc = schema.to_dict(proc.stdout)
    suites = doc["testsuite"]
    assert len(suites) == 2
    assert int(suites[0]["@failures"]) >= 2 and int(suites[1]["@failures"]) == 0


def test_markdown_and_github(bins: dict[str, Path]) -> None:
    md = check("--format", "markdown", str(bins["cgo"])).stdout
    assert md.startswith("❌ **depfree check failed**") and "| `DF001` dynamic-linkage |" in md
    gh = check("--format", "github", str(bins["cgo"])).stdout.splitlines()
    assert any(line.startswith(f"::error file={bins['cgo']},title=DF001 dynamic-linkage::") for line in gh)


def test_every_rule_has_a_docs_page() -> None:
    for rid, info in catalog().items():
        page = ROOT / "docs" / "rules" / f"{rid}.md"
        assert page.exists(), rid
        assert page.read_text().startswith(f"# {rid} {info.name}")


# --- rules that read hardening, debug and packer facts ------------------------------------------------------------

@pytest.mark.parametrize(("rule", "failing", "passing"), [
    ("DF005", ("go", "plain", ""), ("go", "plain", "-s -w")),
    ("DF006", ("go", "plain", ""), ("go", "plain", "-w")),
    ("DF007", ("c", "hello.c", "-no-pie"), ("c", "hello.c", "-pie")),
    ("DF008", ("c", "hello.c", "-Wl,-z,lazy"), ("c", "hello.c", "-Wl,-z,now")),
    ("DF009", ("c", "hello.c", "-Wl,-z,execstack"), ("c", "hello.c", "")),
])
def test_hardening_rules(factory, tmp_path: Path, rule: str, failing: tuple, passing: tuple) -> None:  # type: ignore[no-untyped-def]
    def build(spec: tuple) -> Path:
        kind, prog, flags = spec
        if kind == "go":
            return factory.go(prog, ldflags=flags)
        return factory.c(prog, flags=tuple(flags.split()) if flags else ())

    pol = policy_file(tmp_path, f'[rules]\n{rule} = "error"\n')
    bad = check("--policy", str(pol), "--preset", "static", "--format", "json", str(build(failing)))
    assert rule in rules_hit(bad), bad.stdout[:500]
    good = check("--policy", str(pol), "--preset", "static", "--format", "json", str(build(passing)))
    assert rule not in rules_hit(good)


def test_rwx_and_upx_rules(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """DF010 on a crafted RWX PT_LOAD; DF011 on a UPX-marked file built from the documented format."""
    import struct

    from test_debuginfo_packer import _fake_upx

    src = factory.c("hello.c")
    data = bytearray(src.read_bytes())
    phoff = struct.unpack_from("<Q", data, 32)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        off = phoff + i * phentsize
        if struct.unpack_from("<I", data, off)[0] == 1:  # first PT_LOAD becomes RWX
            struct.pack_into("<I", data, off + 4, 7)
            break
    rwx = tmp_path / "rwx"
    rwx.write_bytes(bytes(data))
    pol = policy_file(tmp_path, '[rules]\nDF010 = "error"\nDF011 = "error"\n')
    assert "DF010" in rules_hit(check("--policy", str(pol), "--format", "json", str(rwx)))
    assert "DF010" not in rules_hit(check("--policy", str(pol), "--format", "json", str(src)))
    upx = tmp_path / "upx"
    static = factory.c("hello.c", flags=("-static",))
    _fake_upx(static, upx)
    assert "DF011" in rules_hit(check("--policy", str(pol), "--format", "json", str(upx)))
    assert "DF011" not in rules_hit(check("--policy", str(pol), "--format", "json", str(static)))


def test_needs_and_target_rules(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    static = factory.go("nettool")
    tagged = factory.go("nettool", tags="netgo,osusergo,timetzdata")
    cgo = factory.go("nettool", cgo=True)
    pol = policy_file(tmp_path, 'targets = ["scratch"]\n[rules]\nDF014 = "warning"\nDF015 = "warning"\nDF016 = "error"\n')
    hit = rules_hit(check("--policy", str(pol), "--preset", "static", "--format", "json", str(static)))
    assert {"DF014", "DF015"} <= hit and "DF016" not in hit  # static in scratch: warns, does not fail
    assert "DF015" not in rules_hit(check("--policy", str(pol), "--preset", "static", "--format", "json", str(tagged)))
    assert "DF016" in rules_hit(check("--policy", str(pol), "--preset", "static", "--format", "json", str(cgo)))
    assert "DF014" not in rules_hit(check("--policy", str(pol), "--preset", "static", "--format", "json",
                                          str(factory.go("plain"))))


def test_library_check_agrees_with_the_cli_without_importing_it(tmp_path: Path) -> None:
    """``depfree.check`` is the library's (issue 18): it loads no ``depfree.cli`` module and judges as the CLI does."""
    pol = policy_file(tmp_path, 'preset = "static"\n')
    code = ("import json, sys, depfree\n"
            f"r = depfree.check(['/bin/true'], policy={str(pol)!r})\n"
            "print(json.dumps({'passed': r.passed, 'rules': sorted({f['rule'] for f in r.to_json()['findings']}),\n"
            "                  'cli': sorted(m for m in sys.modules if m.startswith('depfree.cli'))}))\n")
    lib = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                    timeout=300).stdout)
    assert lib["cli"] == []
    proc = check("--policy", str(pol), "--json", "/bin/true")
    assert proc.returncode == (0 if lib["passed"] else 1)
    assert lib["rules"] == sorted(set(rules_hit(proc)))
    assert "DF001" in lib["rules"]  # /bin/true is dynamically linked: readelf -d lists its NEEDED
    assert "NEEDED" in subprocess.run(["readelf", "-dW", "/bin/true"], capture_output=True, text=True,
                                      check=True).stdout
