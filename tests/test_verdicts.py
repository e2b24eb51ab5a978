"""One verdict per binary, judged the way its package is really installed and run (targets/context.py,
data/contexts.toml), on real packages downloaded in the test run.

Ground truth: auditwheel (is a wheel consistent with its platform tag), dpkg-shlibdeps and dpkg-deb (which packages
a .deb's binaries need, what its Depends says, which package's shlibs/symbols name a soname), readelf, and the
loader itself through ``ldd`` on the host's own binaries and lddtree (pax-utils) against a root."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from depfree.analysis.context import Options
from depfree.model import Binary, Report, to_json
from depfree.scan import scan
from helpers import packages
from helpers.factory import Factory
from helpers.schema import assert_valid_report


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "depfree", *args], capture_output=True, text=True, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def readelf_needed(path: Path) -> list[str]:
    out = subprocess.run(["readelf", "-dW", str(path)], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def by_path(report: Report) -> dict[str, Binary]:
    return {b.path: b for b in report.binaries}


# ---- wheels ----------------------------------------------------------------------------------------------------

def auditwheel_tag(wheel: Path) -> str:
    """The platform tag auditwheel says the wheel is consistent with (the lowest it meets)."""
    exe = Path(sys.executable).with_name("auditwheel")
    proc = subprocess.run([str(exe), "show", str(wheel)], capture_output=True, text=True, check=False)
    m = re.search(r'platform tag:\s+"([^"]+)"', " ".join(proc.stdout.split()))
    assert m, proc.stdout + proc.stderr
    return m.group(1)


LEGACY = {"manylinux1": "manylinux_2_5", "manylinux2010": "manylinux_2_12", "manylinux2014": "manylinux_2_17"}


def tag_version(tag: str) -> tuple[str, tuple[int, int]]:
    """``manylinux2014_x86_64`` -> ("manylinux", (2, 17)) (PEP 600's legacy aliases)."""
    head = tag.split("_")[0]
    if head in LEGACY:
        tag = LEGACY[head] + tag[len(head):]
    family, major, minor = tag.split("_")[:3]
    return family, (int(major), int(minor))


@pytest.fixture(scope="module")
def wheels(factory: Factory, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    got = {
        "go-task": packages.wheel(factory, "go-task-bin==3.54.0", "manylinux_2_28_x86_64"),
        "psycopg2": packages.wheel(factory, "psycopg2-binary==2.9.13", "manylinux2014_x86_64"),
        "psycopg2-musl": packages.wheel(factory, "psycopg2-binary==2.9.9", "musllinux_1_1_x86_64"),
        "cryptography": packages.wheel(factory, "cryptography==50.0.2", "manylinux_2_34_x86_64"),
    }
    tmp = tmp_path_factory.mktemp("wheels")
    # a wheel that lies about its tag: the real manylinux_2_34 build renamed to promise glibc 2.17
    retagged = tmp / got["cryptography"].name.replace("manylinux_2_34", "manylinux_2_17")
    shutil.copy2(got["cryptography"], retagged)
    got["retagged"] = retagged
    # a wheel whose vendored library went missing: libpq removed from psycopg2_binary.libs
    broken = tmp / got["psycopg2"].name
    with zipfile.ZipFile(got["psycopg2"]) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            if not re.search(r"\.libs/libpq-", info.filename):
                dst.writestr(info, src.read(info))
    got["no-libpq"] = broken
    return got


@pytest.mark.parametrize("name", ["go-task", "psycopg2", "psycopg2-musl", "retagged"])
def test_wheel_verdict_follows_auditwheel(wheels: dict[str, Path], name: str) -> None:
    """A wheel fails exactly when auditwheel finds it needs a newer platform than its name promises."""
    wheel = wheels[name]
    truth = auditwheel_tag(wheel)
    promised = [t for t in wheel.name[:-4].split("-")[-1].split(".")]
    family = truth.split("_")[0]
    promises = [tag_version(t) for t in promised if tag_version(t)[0] == family]
    assert promises, (truth, promised)
    honest = family == "musllinux" or tag_version(truth)[1] <= min(v for _, v in promises)
    report = scan(wheel, jobs=1)
    assert not report.errors
    (container,) = report.containers or []
    assert container.context == "wheel"
    assert (container.verdict != "fail") is honest, [b.resolution for b in report.binaries]
    assert_valid_report(report.to_json())
    if not honest:
        (b,) = report.binaries
        reasons = [m for m in to_json(b.resolution)["missing"] if m["kind"] == "tag"]
        assert reasons and "above the glibc 2.17 ceiling of manylinux_2_17_x86_64" in reasons[0]["why"]
        assert reasons[0]["why"].startswith(f"needs GLIBC_{b.linkage.min_glibc}")


def test_cxx_symbol_versions_against_the_tag_like_auditwheel(factory: Factory, tmp_path: Path) -> None:
    """A C++ extension built here with g++ (GLIBC_2.2.5 only, but Debian 12's libstdc++ symbol versions) in a wheel
    that says manylinux_2_17: auditwheel finds it needs a newer policy, and so does the tag check — through GLIBCXX
    and CXXABI, not glibc."""
    so = factory.c("hello_cpp.cpp", cc="g++", flags=("-shared", "-fPIC"))
    tag = "cp311-cp311-manylinux_2_17_x86_64"
    wheel = tmp_path / f"depfreecpp-1.0-{tag}.whl"
    files = {"depfreecpp/_ext.cpython-311-x86_64-linux-gnu.so": so.read_bytes(),
             "depfreecpp-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: depfreecpp\nVersion: 1.0\n",
             "depfreecpp-1.0.dist-info/WHEEL": f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\n"
                                               f"Tag: {tag}\n".encode()}
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr("depfreecpp-1.0.dist-info/RECORD", "".join(f"{n},,\n" for n in files)
                    + "depfreecpp-1.0.dist-info/RECORD,,\n")
    truth = auditwheel_tag(wheel)
    assert tag_version(truth)[1] > (2, 17)
    versions = subprocess.run(["readelf", "-VW", str(so)], capture_output=True, text=True, check=True).stdout
    glibc = {tuple(int(x) for x in v.split(".")) for v in re.findall(r"GLIBC_(\d+(?:\.\d+)+)", versions)}
    assert max(glibc) <= (2, 17)  # so glibc is not what breaks the promise
    (b,) = scan(wheel, jobs=1).binaries
    assert to_json(b.resolution)["verdict"] == "fail"
    reasons = [m for m in to_json(b.resolution)["missing"] if m["kind"] == "tag"]
    assert reasons and {r["why"].split("_")[0].removeprefix("needs ") for r in reasons} <= {"GLIBCXX", "CXXABI", "GCC"}
    assert any(r["why"].startswith("needs GLIBCXX_") and "above the GLIBCXX 3.4.19 that manylinux_2_17_x86_64 "
               "allows" in r["why"] for r in reasons)


def test_go_task_wheel_is_one_verdict_and_the_host_supplies_dns(wheels: dict[str, Path]) -> None:
    """The issue's go_task_bin case: a static Go program in a wheel is ✓; /etc/resolv.conf and the CA bundle are
    the machine's part, listed as needs, never "not in the archive", and never a second verdict on the line."""
    wheel = wheels["go-task"]
    with zipfile.ZipFile(wheel) as zf:
        member = next(n for n in zf.namelist() if n.endswith("/scripts/task"))
        data = zf.read(member)
    exe = Path(wheel).with_name("task-from-wheel")
    exe.write_bytes(data)
    program_headers = subprocess.run(["readelf", "-lW", str(exe)], capture_output=True, text=True, check=True).stdout
    assert "INTERP" not in program_headers  # static: nothing for the loader to find
    proc = cli("scan", "--jobs", "1", str(wheel))
    assert proc.returncode == 0, proc.stderr
    (line,) = [ln for ln in proc.stdout.splitlines() if member in ln]
    assert line.lstrip().startswith("✓") and "✗" not in line and "self-contained" not in line
    assert "needs from the machine: /etc/ssl/certs/ca-certificates.crt, /etc/resolv.conf" in line
    data = json.loads(cli("scan", "--json", "--jobs", "1", str(wheel)).stdout)
    assert_valid_report(data)
    res = data["binaries"][0]["resolution"]
    assert res["verdict"] == "ok" and res["missing"] == []
    assert {h["name"] for h in res["host"] if h["kind"] == "file"} >= {"/etc/resolv.conf",
                                                                        "/etc/ssl/certs/ca-certificates.crt"}


def test_vendored_libraries_found_through_origin_and_a_missing_one_fails(wheels: dict[str, Path]) -> None:
    policy = json.loads((Path(sys.executable).parent.parent / "lib").glob(
        "python3*/site-packages/auditwheel/policy/manylinux-policy.json").__next__().read_text())
    allowed = set(next(p for p in policy if p["name"] == "manylinux_2_17")["lib_whitelist"])
    report = scan(wheels["psycopg2"], jobs=1)
    ext = next(b for b in report.binaries if "_psycopg" in b.path)
    with zipfile.ZipFile(wheels["psycopg2"]) as zf:
        libs = {Path(n).name: n for n in zf.namelist() if ".libs/" in n}
        tmp = Path(wheels["no-libpq"]).with_name("psycopg-ext.so")
        tmp.write_bytes(zf.read(ext.path.split("!", 1)[1]))
    vendored = [n for n in readelf_needed(tmp) if n not in allowed and not n.startswith("ld-linux")]
    assert vendored and all(n in libs for n in vendored)  # auditwheel repair put them in psycopg2_binary.libs
    found = {e["name"]: e["path"] for e in to_json(ext.resolution)["libraries"]}
    for n in vendored:
        assert found[n] == "/" + libs[n]
    assert to_json(ext.resolution)["verdict"] == "ok"
    broken = scan(wheels["no-libpq"], jobs=1)
    ext = next(b for b in broken.binaries if "_psycopg" in b.path)
    libpq = next(n for n in vendored if n.startswith("libpq-"))
    assert to_json(ext.resolution)["verdict"] == "fail"
    assert [m["name"] for m in to_json(ext.resolution)["missing"]] == [libpq]
    assert "not in the wheel and not allowed by manylinux2014" in to_json(ext.resolution)["missing"][0]["why"]


# ---- Debian packages -------------------------------------------------------------------------------------------

def shlibdeps(deb: Path, binary: str, tmp: Path) -> set[str]:
    """The packages dpkg-shlibdeps derives for one binary of a .deb (against this machine's dpkg database)."""
    work = tmp / f"shlibdeps-{deb.stem}-{Path(binary).name}"
    (work / "debian").mkdir(parents=True)
    (work / "debian" / "control").write_text("Source: x\n\nPackage: x\nArchitecture: any\n")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(work / "pkg")], check=True)
    proc = subprocess.run(["dpkg-shlibdeps", "-O", "-e", f"pkg{binary}"], cwd=work, capture_output=True, text=True,
                          check=True)
    value = proc.stdout.split("shlibs:Depends=", 1)[1]
    return {d.strip().split(" ")[0] for d in value.split(",") if d.strip()}


def deb_field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True).stdout.strip()


def providers(res: dict[str, Any]) -> set[str]:
    return {h["detail"].split(" ")[1] for h in res["host"] if h["kind"] == "library" and h["status"] == "met"}


def test_deb_needs_satisfied_through_depends_like_dpkg_shlibdeps(factory: Factory, tmp_path: Path) -> None:
    deb = packages.deb(factory, "zstd")
    report = scan(deb, jobs=1)
    assert not report.errors
    (container,) = report.containers or []
    assert container.context == "deb" and container.verdict == "ok"
    assert container.deb is not None and container.deb.depends == deb_field(deb, "Depends")
    dynamic = [b for b in report.binaries if b.linkage.needed and b.type in ("exec", "pie")]
    assert dynamic
    for b in dynamic:
        member = b.path.split("!", 1)[1]
        assert providers(to_json(b.resolution)) == shlibdeps(deb, member, tmp_path), to_json(b.resolution)["host"]
        assert all("(Depends ✓)" in h["detail"] for h in to_json(b.resolution)["host"] if h["kind"] == "library")


def test_deb_missing_a_dependency_fails(factory: Factory, tmp_path: Path) -> None:
    """zstd rebuilt with dpkg-deb after liblzma5 was dropped from Depends: /usr/bin/zstd still needs liblzma.so.5."""
    deb = packages.deb(factory, "zstd")
    tree = tmp_path / "tree"
    subprocess.run(["dpkg-deb", "-R", str(deb), str(tree)], check=True)
    control = tree / "DEBIAN" / "control"
    text = control.read_text()
    depends = next(line for line in text.splitlines() if line.startswith("Depends:"))
    kept = [d for d in depends[len("Depends:"):].split(",") if not d.strip().startswith("liblzma5")]
    control.write_text(text.replace(depends, "Depends:" + ",".join(kept)))
    broken = tmp_path / "zstd-broken.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", str(tree), str(broken)], check=True, capture_output=True)
    assert "liblzma5" in shlibdeps(broken, "/usr/bin/zstd", tmp_path)
    assert "liblzma5" not in deb_field(broken, "Depends")
    report = scan(broken, jobs=1)
    zstd = by_path(report)[f"{broken}!/usr/bin/zstd"]
    assert to_json(zstd.resolution)["verdict"] == "fail"
    (miss,) = to_json(zstd.resolution)["missing"]
    assert miss["name"] == "liblzma.so.5" and miss["detail"].startswith("← liblzma5 (")
    assert miss["detail"].endswith("not in Depends or Pre-Depends")
    # the evidence names the shlibs/symbols file that maps the soname, and it really does (read here)
    mapped = next(e for e in miss["evidence"] if e["kind"] == "file" and e["name"] != "control")
    text = Path(mapped["name"]).read_text()
    assert "liblzma.so.5 liblzma5" in text or re.search(r"^liblzma 5 liblzma5", text, re.M)
    assert_valid_report(report.to_json())
    out = cli("scan", "--jobs", "1", str(broken)).stdout
    assert "✗ /usr/bin/zstd" in out and "missing from the package: liblzma.so.5 ← liblzma5" in out


def test_go_deb_with_cgo_libraries_from_the_packages_own_symbols(factory: Factory, tmp_path: Path) -> None:
    """hugo (Go with cgo: libwebp, libsass) scanned with the .debs of its libraries: each soname is mapped through
    the shlibs/symbols file of the package that ships it, and found in hugo's Depends."""
    hugo, webp, sass = (packages.deb(factory, n) for n in ("hugo", "libwebp7", "libsass1"))
    report = scan([hugo, webp, sass], jobs=1)
    b = by_path(report)[f"{hugo}!/usr/bin/hugo"]
    assert b.go is not None and b.linkage.kind == "dynamic"
    subprocess.run(["dpkg-deb", "-x", str(hugo), str(tmp_path / "hugo")], check=True)
    needed = readelf_needed(tmp_path / "hugo" / "usr" / "bin" / "hugo")
    assert {"libwebp.so.7", "libsass.so.1"} <= set(needed)
    want: dict[str, str] = {}
    for deb in (webp, sass):
        info = subprocess.run(["dpkg-deb", "-I", str(deb), "symbols"], capture_output=True, text=True).stdout or \
            subprocess.run(["dpkg-deb", "-I", str(deb), "shlibs"], capture_output=True, text=True).stdout
        for line in info.splitlines():
            if line and not line[0].isspace() and ".so." in line.split()[0]:
                want[line.split()[0]] = line.split()[1]
            elif line and not line[0].isspace() and len(line.split()) >= 3:
                want[f"{line.split()[0]}.so.{line.split()[1]}"] = line.split()[2]
    host = {h["name"]: h for h in to_json(b.resolution)["host"] if h["kind"] == "library"}
    for so in ("libwebp.so.7", "libsass.so.1"):
        assert so in want, want
        assert host[so]["status"] == "met" and host[so]["detail"] == f"← {want[so]} (Depends ✓)"
    assert to_json(b.resolution)["verdict"] == "ok"
    out = cli("scan", "--jobs", "1", str(hugo), str(webp), str(sass)).stdout
    assert f"libwebp.so.7 ← {want['libwebp.so.7']} (Depends ✓)" in out


# ---- release archives --------------------------------------------------------------------------------------------

def _tarball(tmp: Path, name: str, files: dict[str, Path]) -> Path:
    root = tmp / f"{name}-tree"
    for rel, src in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, root / rel)
    out = tmp / f"{name}.tar.gz"
    subprocess.run(["tar", "-czf", str(out), "-C", str(root), "."], check=True)
    return out


def test_release_archives_of_static_and_cgo_go_builds_judged_on_chosen_targets(factory: Factory,
                                                                                tmp_path: Path) -> None:
    """A release archive is the application: without --target both builds are ✓ with their needs listed; on a
    chosen target the host's part is judged, and the verdict matches a real start in that root (the verify
    sandbox: the cgo build has no loader on scratch, the static one starts)."""
    from depfree.sandbox import verify

    static, cgo = factory.go("nettool"), factory.go("nettool", cgo=True)
    archives = {"static": _tarball(tmp_path, "static", {"bin/nettool": static}),
                "cgo": _tarball(tmp_path, "cgo", {"bin/nettool": cgo})}
    for kind, tgz in archives.items():
        (b,) = scan(tgz, jobs=1).binaries
        assert to_json(b.resolution)["context"] == "app" and to_json(b.resolution)["verdict"] == "ok" and to_json(b.resolution)["missing"] == []
        if kind == "cgo":
            host = {h["name"] for h in to_json(b.resolution)["host"]}
            assert {"/lib64/ld-linux-x86-64.so.2", "libc.so.6"} <= host
    runs = {kind: verify(str(path), ["scratch"])[0] for kind, path in (("static", static), ("cgo", cgo))}
    assert runs["cgo"].failure == "interpreter-missing" and runs["static"].started
    proc = cli("scan", "--jobs", "1", "-t", "scratch", str(archives["cgo"]), str(archives["static"]))
    lines = [ln for ln in proc.stdout.splitlines() if "bin/nettool" in ln]
    assert lines[0].lstrip().startswith("✗") and "unmet on scratch: interpreter /lib64/ld-linux-x86-64.so.2" in lines[0]
    assert not lines[1].lstrip().startswith("✗")  # the static build starts there (CA roots: a warning)
    proc = cli("scan", "--jobs", "1", "-t", "debian-12", str(archives["cgo"]))
    assert "✓ bin/nettool" in proc.stdout
    # a multi-OS release: a Linux target is not the .exe's machine
    exe = _tarball(tmp_path, "windows", {"nettool.exe": factory.go("nettool", goos="windows")})
    (b,) = scan(exe, jobs=1, options=Options(targets=["debian-12"])).binaries
    assert to_json(b.resolution)["verdict"] == "ok" and b.targets[0].verdict == "fail"
    proc = cli("scan", "-t", "no-such-target", str(archives["cgo"]))
    assert proc.returncode == 2 and "unknown target 'no-such-target'" in proc.stderr


def test_release_archive_searching_origin_must_bring_its_library(factory: Factory, tmp_path: Path) -> None:
    """A program with RUNPATH $ORIGIN/../lib that bundles its libraries: one left out is missing from the
    application (ldd on the unpacked tree agrees); glibc's own libraries stay the host's part. With none of them
    shipped, nothing shows the package meant to bundle them: the host's part (it may have them installed)."""
    one = factory.c("hello.c", flags=("-shared", "-fPIC", "-Wl,-soname,libdepfreetest.so.1"))
    two = factory.c("hello.c", flags=("-shared", "-fPIC", "-Wl,-soname,libdepfreetwo.so.1", "-DSECOND"))
    app = factory.c("hello.c", flags=("-Wl,--no-as-needed", str(one), str(two), "-Wl,-rpath,$ORIGIN/../lib"))
    assert {"libdepfreetest.so.1", "libdepfreetwo.so.1"} <= set(readelf_needed(app))
    good = _tarball(tmp_path, "good", {"bin/app": app, "lib/libdepfreetest.so.1": one, "lib/libdepfreetwo.so.1": two})
    bad = _tarball(tmp_path, "bad", {"bin/app": app, "lib/libdepfreetest.so.1": one})
    bare = _tarball(tmp_path, "bare", {"bin/app": app})
    out = subprocess.run(["ldd", str(tmp_path / "bad-tree" / "bin" / "app")], capture_output=True, text=True).stdout
    assert "libdepfreetwo.so.1 => not found" in out and "libdepfreetest.so.1 => /" in out and "libc.so.6 => /" in out
    assert "not found" not in subprocess.run(["ldd", str(tmp_path / "good-tree" / "bin" / "app")],
                                             capture_output=True, text=True).stdout
    verdict = {}
    for name, tgz in (("good", good), ("bad", bad), ("bare", bare)):
        (verdict[name],) = [to_json(b.resolution) for b in scan(tgz, jobs=1).binaries if b.path.endswith("bin/app")]
    assert verdict["good"]["verdict"] == "ok"
    assert verdict["bad"]["verdict"] == "fail"
    assert [m["name"] for m in verdict["bad"]["missing"]] == ["libdepfreetwo.so.1"]
    assert "libc.so.6" in {h["name"] for h in verdict["bad"]["host"]}
    assert verdict["bare"]["verdict"] == "ok" and verdict["bare"]["missing"] == []
    assert {"libdepfreetest.so.1", "libdepfreetwo.so.1"} <= {h["name"] for h in verdict["bare"]["host"]}
    out = cli("scan", "--jobs", "1", str(bad)).stdout
    assert "✗ bin/app (dynamic executable, glibc): missing from the application: libdepfreetwo.so.1" in out


# ---- bad input ---------------------------------------------------------------------------------------------------

def test_bad_deb_control_members_are_one_line_errors(factory: Factory, tmp_path: Path) -> None:
    """A .deb whose control member is missing or not a tar: one clear error, the data is still scanned, and the
    verdict does not pretend Depends were checked."""
    deb = packages.deb(factory, "zstd")
    parts = tmp_path / "parts"
    parts.mkdir()
    subprocess.run(["ar", "x", str(deb)], cwd=parts, check=True)
    data = next(p.name for p in parts.iterdir() if p.name.startswith("data.tar"))
    no_control = tmp_path / "no-control.deb"
    subprocess.run(["ar", "rc", str(no_control), "debian-binary", data], cwd=parts, check=True)
    (parts / "control.tar.xz").write_bytes(b"\xfd7zXZ\x00" + b"garbage" * 20)
    bad_control = tmp_path / "bad-control.deb"
    subprocess.run(["ar", "rc", str(bad_control), "debian-binary", "control.tar.xz", data], cwd=parts, check=True)
    for path, expect in ((no_control, "expected a control.tar member in the Debian package, found none"),
                         (bad_control, "control.tar.xz: expected a tar of control files, found")):
        proc = cli("scan", "--jobs", "1", str(path))
        assert proc.returncode == 2, proc.stderr
        (err,) = [ln for ln in proc.stderr.splitlines() if "control member" in ln]
        assert err.startswith(f"depfree: {path}: control member: {expect}")
        assert "/usr/bin/zstd" in proc.stdout
        report = scan(path, jobs=1)
        zstd = by_path(report)[f"{path}!/usr/bin/zstd"]
        libs = [h for h in to_json(zstd.resolution)["host"] if h["kind"] == "library"]
        assert libs and all(h["status"] == "unknown" for h in libs)


def test_a_zip_named_whl_without_a_wheel_name_is_an_ordinary_archive(factory: Factory, tmp_path: Path) -> None:
    odd = tmp_path / "not-a-wheel.whl"
    with zipfile.ZipFile(odd, "w") as zf:
        zf.write(factory.c("hello.c"), "bin/hello")
    (container,) = scan(odd, jobs=1).containers or []
    assert container.context == "app" and container.verdict == "ok"


def test_go_deb_alone_names_its_library_packages_by_debian_policy(factory: Factory, tmp_path: Path) -> None:
    """hugo.deb alone, against a root without libwebp7 or libsass1: the package a soname lives in is named as Debian
    Policy §8.1 names library packages, which is what the package's own shlibs file says (dpkg-deb -I)."""
    hugo, webp = packages.deb(factory, "hugo"), packages.deb(factory, "libwebp7")
    shlibs = subprocess.run(["dpkg-deb", "-I", str(webp), "shlibs"], capture_output=True, text=True).stdout
    owner = next(line.split()[2] for line in shlibs.splitlines() if line.split()[:2] == ["libwebp", "7"])
    empty = tmp_path / "empty-root"  # a root with no dpkg database: no shlibs file maps anything
    empty.mkdir()
    b = by_path(scan(hugo, jobs=1, root=str(empty)))[f"{hugo}!/usr/bin/hugo"]
    assert to_json(b.resolution)["context"] == "deb"
    host = {h["name"]: h for h in to_json(b.resolution)["host"] if h["kind"] == "library"}
    assert host["libwebp.so.7"]["status"] == "met"
    assert host["libwebp.so.7"]["detail"].startswith(f"← {owner} (Depends ✓; named as Debian Policy")
    assert to_json(b.resolution)["verdict"] == "ok"
