"""Issue 18's acceptance: a layered image on a Python base, for two platforms, from one
amd64 machine, through the real build (`python -m hatchling build -t krust`).

The base is Debian's own Python 3.11 for linux/amd64 and linux/arm64 (tests/infra/
pythonbases.py), pushed as one index to a real registry. The arm64 image is run under
qemu-user in a chroot; the amd64 one natively in a chroot. Everything pushed is read back
with skopeo; the registry's access log says what was uploaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from hatch_krust.cli import main
from tests.e2e.conftest import build_env, hatchling_build
from tests.infra.pythonbases import (
    BASE_TAG,
    DEBIAN_PYTHON,
    python_base_layout,
    run_foreign,
    usr_local_base,
)
from tests.infra.registry import RegistryServer, free_port, start_registry
from tests.layered.conftest import PROJECT

pytestmark = pytest.mark.infra

STEM = "krust-layered-demo-1.0.0"
PLATFORMS = "linux/amd64,linux/arm64"
CACHE = Path(os.environ.get("KRUST_TEST_CACHE", "/var/tmp/hatch-krust-tests")) / "pythonbases"
NOTES = "a file of the project beside its wheel (extra-files)\n"
CHECK = '''"""What the platform tests ask of the image."""
import http.server, json, platform, subprocess, sys


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else "report"
    if command == "serve":
        class Hello(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = ("hello from " + platform.machine()).encode()
                self.send_response(200)
                self.end_headers()
                self.wfile.write(body)
        print("serving", flush=True)
        http.server.HTTPServer(("127.0.0.1", int(sys.argv[2])), Hello).serve_forever()
    import yaml
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    key = Ed25519PrivateKey.generate()
    key.public_key().verify(key.sign(b"message"), b"message")  # raises when it fails
    venv = None  # qemu-user without binfmt cannot run a child arm64 process: amd64 only
    if "venv" in sys.argv:
        venv = subprocess.run([sys.executable, "-m", "venv", "--without-pip", "/tmp/v"],
                              capture_output=True, text=True).returncode
    print(json.dumps({
        "machine": platform.machine(), "cloader": yaml.__with_libyaml__,
        "ed25519": True, "executable": sys.executable, "base_prefix": sys.base_prefix,
        "version": platform.python_version(), "venv": venv,
    }))
    return 0
'''


def skopeo(*args: str) -> str:
    done = subprocess.run(["skopeo", *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory):
    with start_registry(tmp_path_factory.mktemp("platforms-registry"), "anonymous") as server:
        yield server


@pytest.fixture(scope="module")
def base(registry: RegistryServer) -> str:
    """The two-platform Debian Python base, in the test registry."""
    CACHE.mkdir(parents=True, exist_ok=True)
    layout = python_base_layout(CACHE)
    reference = f"{registry.host}/debian/python:3.11"
    skopeo("copy", "-q", "--all", "--dest-tls-verify=false",
           f"oci:{layout}:{BASE_TAG}", f"docker://{reference}")  # fmt: skip
    return reference


def make_project(where: Path) -> Path:
    """The layered demo project plus cryptography (a Rust extension) and a second script."""
    project = where / "project"
    shutil.copytree(PROJECT, project)
    (project / "src/krust_layered/check.py").write_text(CHECK)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text().replace(
        'dependencies = ["pyyaml==6.0.2"]',
        'dependencies = ["pyyaml==6.0.2", "cryptography==44.0.0"]',
    )
    text = text.replace(
        "[project.scripts]\n", '[project.scripts]\nkrust-check = "krust_layered.check:main"\n'
    )
    text += '\n[tool.hatch.build.targets.krust.extra-files]\n"/etc/krust-demo/notes.txt" = '
    text += '"notes.txt"\n'
    (project / "notes.txt").write_text(NOTES)
    pyproject.write_text(text)
    return project


def build(project: Path, cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    settings = {"KRUST_FORMAT": "layered", "KRUST_SCRIPT": "krust-check", **env}
    return hatchling_build(project, "krust", build_env(cache, **settings))


@pytest.fixture(scope="module")
def first(
    base: str, registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, subprocess.CompletedProcess[str], str]:
    project = make_project(tmp_path_factory.mktemp("platforms-project"))
    cache = tmp_path_factory.mktemp("platforms-cache")
    done = build(project, cache, KRUST_BASE_IMAGE=base, KRUST_PLATFORMS=PLATFORMS,
                 KRUST_REPO=f"{registry.host}/team")  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    return project, done, cache.name


def pushed(registry: RegistryServer) -> tuple[dict, dict[str, dict]]:
    """The pushed index and its manifests by architecture."""
    name = f"docker://{registry.host}/team/krust-layered-demo"
    index = json.loads(skopeo("inspect", "--raw", "--tls-verify=false", f"{name}:1.0.0"))
    manifests = {
        entry["platform"]["architecture"]: json.loads(
            skopeo("inspect", "--raw", "--tls-verify=false", f"{name}@{entry['digest']}")
        )
        for entry in index["manifests"]
    }
    return index, manifests


def diff_ids(registry: RegistryServer, arch: str) -> list[str]:
    """The layers' diff_ids in the config of the pushed image for `arch`."""
    name = f"docker://{registry.host}/team/krust-layered-demo:1.0.0"
    config = skopeo("inspect", "--config", "--raw", "--tls-verify=false", "--override-arch",
                    arch, name)  # fmt: skip
    return list(json.loads(config)["rootfs"]["diff_ids"])


def host_tzdata_version() -> str:
    """The version of this machine's Debian `tzdata` (whose /usr/share/zoneinfo the
    build ships), from dpkg's status file."""
    status = Path("/var/lib/dpkg/status").read_text()
    stanza = next(s for s in status.split("\n\n") if s.startswith("Package: tzdata\n"))
    return re.search(r"^Version: (.+)$", stanza, re.MULTILINE).group(1)  # type: ignore[union-attr]


def unpack(registry: RegistryServer, arch: str, where: Path) -> tuple[Path, list[str]]:
    """The pushed image for `arch` as a root file system, and its Entrypoint."""
    source = f"docker://{registry.host}/team/krust-layered-demo:1.0.0"
    skopeo("copy", "-q", "--src-tls-verify=false", "--override-arch", arch,
           source, f"oci:{where / 'layout'}:image")  # fmt: skip
    subprocess.run(["umoci", "unpack", "--image", f"{where / 'layout'}:image",
                    str(where / "bundle")], check=True, capture_output=True)  # fmt: skip
    config = json.loads((where / "bundle/config.json").read_text())
    return where / "bundle/rootfs", config["process"]["args"]


def run_native(root: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    env = {"PATH": "/app/bin:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    return subprocess.run([chroot, str(root), *argv], capture_output=True, text=True,
                          timeout=120, check=False, env=env)  # fmt: skip


def test_one_build_pushes_an_index_with_both_platforms(first, registry: RegistryServer) -> None:
    index, manifests = pushed(registry)
    assert sorted(manifests) == ["amd64", "arm64"]
    amd64, arm64 = manifests["amd64"], manifests["arm64"]
    assert amd64["layers"][-1]["digest"] == arm64["layers"][-1]["digest"]  # the project
    assert amd64["layers"][-2]["digest"] != arm64["layers"][-2]["digest"]  # their wheels
    assert amd64["layers"][0] != arm64["layers"][0]  # each platform's base layer
    # base, runtime files, the zone database (the Debian base has no tzdata), the extra
    # files, packages, project
    assert len(amd64["layers"]) == len(arm64["layers"]) == 6
    base = {
        a: m["annotations"]["org.opencontainers.image.base.digest"] for a, m in manifests.items()
    }
    assert base["amd64"] != base["arm64"]  # each records its own base manifest
    stderr = first[1].stderr
    assert "x86_64-manylinux_2_36" in stderr and "aarch64-manylinux_2_36" in stderr
    entries = {e["platform"]["architecture"]: e["digest"] for e in index["manifests"]}
    attached = [line for line in stderr.splitlines() if line.startswith("Attached the ")]
    assert len(attached) == 2, attached  # one line per platform manifest, each its own
    for arch, line in zip(("amd64", "arm64"), attached, strict=True):
        assert line.startswith(
            f"Attached the sbom and provenance to the linux/{arch} manifest {entries[arch]} "
        ), line


def test_the_images_hold_nothing_of_the_build_machine(
    first, registry: RegistryServer, tmp_path: Path
) -> None:
    """Above the base, only /app (the venv), the launcher and runtime files: no
    interpreter, no library outside the wheels' own."""
    _index, manifests = pushed(registry)
    name = f"docker://{registry.host}/team/krust-layered-demo"
    for arch, manifest in manifests.items():
        skopeo("copy", "-q", "--src-tls-verify=false", "--override-arch", arch,
               f"{name}:1.0.0", f"dir:{tmp_path / arch}")  # fmt: skip
        names = []
        for layer in manifest["layers"][1:]:  # ours: everything above the base
            with tarfile.open(tmp_path / arch / layer["digest"].split(":")[1]) as tar:
                names += tar.getnames()
        assert any(
            n.endswith(
                "site-packages/yaml/_yaml.cpython-311-"
                + ("x86_64" if arch == "amd64" else "aarch64")
                + "-linux-gnu.so"
            )
            for n in names
        )
        for member in names:
            if member in ("usr", "usr/share") or member.startswith("usr/share/zoneinfo"):
                continue  # data, not a program: the base has no zone database (issue 20)
            assert not member.startswith(("opt/python", "usr/", "lib/", "lib64/")), member
            if member.endswith(".so") or ".so." in member:
                assert "/site-packages/" in member, member  # only the wheels' own


def test_arm64_runs_under_qemu_user(first, registry: RegistryServer, tmp_path: Path) -> None:
    root, argv = unpack(registry, "arm64", tmp_path)
    assert os.readlink(root / "app/bin/python") == "/usr/bin/python3.11"  # the base's
    assert "home = /usr/bin" in (root / "app/pyvenv.cfg").read_text()
    done = run_foreign(root, [*argv, "report"])
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["machine"] == "aarch64"
    assert report["cloader"] is True and report["ed25519"] is True
    assert (report["executable"], report["base_prefix"]) == ("/app/bin/python", "/usr")
    assert report["version"] == "3.11.2"  # Debian's, not this machine's
    assert list((root / "app/lib/python3.11/site-packages/yaml/__pycache__").glob("*.pyc"))
    # the files for scanners are this platform's own: its Python is Debian's arm64 package
    stanza = (root / "var/lib/dpkg/status.d/python3.11-minimal").read_text()
    assert "Architecture: arm64\n" in stanza, stanza
    assert (root / "etc/krust-demo/notes.txt").read_text() == NOTES
    assert (root / "usr/share/zoneinfo/Europe/Oslo").is_file()


def test_an_arm64_service_answers_http(first, registry: RegistryServer, tmp_path: Path) -> None:
    root, argv = unpack(registry, "arm64", tmp_path)
    port = free_port()
    shutil.copy2(shutil.which("qemu-aarch64-static") or "", root / "qemu-static")
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    command = [chroot, str(root), "/qemu-static", *argv, "serve", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        answer = None
        for _ in range(200):
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer is not None and answer.text == "hello from aarch64"
    finally:
        server.kill()
        server.wait()


def test_amd64_runs_natively(first, registry: RegistryServer, tmp_path: Path) -> None:
    root, argv = unpack(registry, "amd64", tmp_path)
    done = run_native(root, [*argv, "report", "venv"])
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["machine"], report["version"]) == ("x86_64", "3.11.2")
    assert report["venv"] == 0  # `python -m venv` with the base's interpreter
    assert report["cloader"] is True and report["ed25519"] is True


@pytest.mark.parametrize(("platform", "arch"), [("linux/amd64", "amd64"), ("linux/arm64", "arm64")])
def test_each_platform_sbom_names_the_base_python_and_its_wheels(
    first, registry: RegistryServer, platform: str, arch: str, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = f"{registry.host}/team/krust-layered-demo:1.0.0"
    assert main(["sbom", reference, "--platform", platform]) == 0
    sbom = json.loads(capsys.readouterr().out)
    purls = [c.get("purl", "") for c in sbom["components"]]
    wanted = "pkg:deb/debian/python3.11-minimal@3.11.2-6"
    python = [p for p in purls if p.startswith(wanted)]
    assert python and f"arch={arch}" in python[0], purls
    assert any(p.startswith("pkg:pypi/cryptography@44.0.0") for p in purls), purls
    assert any(p.startswith("pkg:pypi/pyyaml@6.0.2") for p in purls), purls
    # every platform's image holds the extra files and the zone layer: its SBOM names them
    project = next(c for c in sbom["components"] if c["name"] == "krust-layered-demo")
    notes = [f for f in project.get("components", []) if f["name"] == "/etc/krust-demo/notes.txt"]
    assert notes and notes[0]["hashes"][0]["content"] == hashlib.sha256(NOTES.encode()).hexdigest()
    zones = [c for c in sbom["components"] if c["name"] == "zoneinfo"]
    assert len(zones) == 1, [c["name"] for c in sbom["components"]]
    assert f"sha256:{zones[0]['hashes'][0]['content']}" in diff_ids(registry, arch)
    tzdata = host_tzdata_version()  # the build host's zone database, named as Debian does
    assert zones[0].get("purl") == f"pkg:deb/debian/tzdata@{quote(tzdata)}?arch=all", zones
    written = first[0] / "dist/krust"
    name = f"{STEM}.cdx.json" if arch == "amd64" else f"{STEM}.linux-arm64.cdx.json"
    assert json.loads((written / name).read_text())["components"] == sbom["components"]
    provenance = json.loads((written / name.replace(".cdx.json", ".provenance.json")).read_text())
    _index, manifests = pushed(registry)
    base_digest = manifests[arch]["annotations"]["org.opencontainers.image.base.digest"]
    assert base_digest.split(":")[1] in json.dumps(provenance)


def test_two_clean_builds_give_the_same_index(
    first, base: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    digests = []
    for n in range(2):
        project = make_project(tmp_path_factory.mktemp(f"platforms-clean-{n}"))
        cache = tmp_path_factory.mktemp(f"platforms-clean-cache-{n}")
        done = build(project, cache, KRUST_BASE_IMAGE=base, KRUST_PLATFORMS=PLATFORMS)
        assert done.returncode == 0, done.stderr[-4000:]
        assert "from the cache" not in done.stderr  # clean
        projects = re.findall(r"Layer project: (sha256:[0-9a-f]+)", done.stderr)
        assert len(projects) == 2 and projects[0] == projects[1]  # one layer, both platforms
        record = json.loads((project / "dist/krust" / f"{STEM}.build.json").read_text())
        digests.append(record["index"]["digest"])
    assert digests[0] == digests[1]


@pytest.mark.parametrize("where", ["oci-layout", "registry"])
def test_all_takes_every_linux_platform_of_the_base(
    base: str, where: str, registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = make_project(tmp_path_factory.mktemp("platforms-all"))
    spec = f"oci:{python_base_layout(CACHE)}:{BASE_TAG}" if where == "oci-layout" else base
    mark = registry.mark()
    done = build(project, tmp_path_factory.mktemp("platforms-all-cache"),
                 KRUST_BASE_IMAGE=spec, KRUST_PLATFORMS="all")  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    record = json.loads((project / "dist/krust" / f"{STEM}.build.json").read_text())
    assert sorted(p["platform"] for p in record["platforms"]) == ["linux/amd64", "linux/arm64"]
    requests = registry.requests_since(mark)
    by_tag = [r for r in requests if r.startswith("GET /v2/debian/python/manifests/3.11")]
    # the listing and both platforms' pulls take one index: the tag is looked up once
    assert len(by_tag) == (1 if where == "registry" else 0), requests


def _uploaded(requests: list[str]) -> list[str]:
    """Digests of the blob uploads that finished (`PUT …?digest=`, or one `POST …?digest=`),
    in order; cross-repository mount attempts (`POST …?mount=`) are not uploads."""
    out = []
    for line in requests:
        method, _, target = line.partition(" ")
        if method in ("PUT", "POST") and "/blobs/uploads/" in target:
            out += re.findall(r"[?&]digest=(sha256(?::|%3A)[0-9a-f]{64})", target)
    return [d.replace("%3A", ":") for d in out]


def test_a_one_line_change_pushes_only_the_project_layer_once(
    first, registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = first[0]
    _index, before = pushed(registry)
    init = project / "src/krust_layered/__init__.py"
    init.write_text(init.read_text().replace('"original"', '"changed"'))
    cache = tmp_path_factory.getbasetemp() / first[2]
    mark = registry.mark()
    done = build(project, cache, KRUST_BASE_IMAGE=f"{registry.host}/debian/python:3.11",
                 KRUST_PLATFORMS=PLATFORMS, KRUST_REPO=f"{registry.host}/team")  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    requests = registry.requests_since(mark)
    uploaded = _uploaded(requests)
    pulls = re.findall(r"Pulling base image \S+ \((linux/\w+)\)", done.stderr)
    assert sorted(pulls) == ["linux/amd64", "linux/arm64"], done.stderr  # each base once
    by_tag = [r for r in requests if r.startswith("GET /v2/debian/python/manifests/3.11")]
    assert len(by_tag) == 1, requests  # the tag is looked up once a build, not per platform
    _index, after = pushed(registry)
    top = after["amd64"]["layers"][-1]["digest"]
    assert top == after["arm64"]["layers"][-1]["digest"]
    assert top != before["amd64"]["layers"][-1]["digest"]
    assert uploaded.count(top) == 1, requests  # one blob, pushed once for both platforms
    lower = {layer["digest"] for m in after.values() for layer in m["layers"][:-1]}
    assert not lower & set(uploaded), "a lower layer was uploaded again"


def x86_only_wheel(directory: Path) -> Path:
    """A distribution with a wheel for x86_64 only (a find-links directory holds it)."""
    directory.mkdir(parents=True, exist_ok=True)
    name = "krust_x86_only-1.0-py3-none-manylinux_2_17_x86_64.whl"
    files = {
        "krust_x86_only/__init__.py": "",
        "krust_x86_only-1.0.dist-info/METADATA": (
            "Metadata-Version: 2.1\nName: krust-x86-only\nVersion: 1.0\n"
        ),
        "krust_x86_only-1.0.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\n"
            "Tag: py3-none-manylinux_2_17_x86_64\n"
        ),
    }
    record = "".join(f"{path},,\n" for path in files) + "krust_x86_only-1.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(directory / name, "w") as wheel:
        for path, text in {**files, "krust_x86_only-1.0.dist-info/RECORD": record}.items():
            wheel.writestr(path, text)
    return directory


def refused(done: subprocess.CompletedProcess[str]) -> str:
    """The one message a refused build ends with (no traceback)."""
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done.stderr


def test_no_wheel_for_a_platform_is_one_message_and_nothing_pushed(
    base: str, registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = make_project(tmp_path_factory.mktemp("platforms-nowheel"))
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        '"cryptography==44.0.0"]', '"cryptography==44.0.0", "krust-x86-only==1.0"]'))  # fmt: skip
    links = x86_only_wheel(tmp_path_factory.mktemp("platforms-links"))
    mark = registry.mark()
    done = build(project, tmp_path_factory.mktemp("platforms-nowheel-cache"),
                 KRUST_BASE_IMAGE=base, KRUST_PLATFORMS=PLATFORMS, UV_FIND_LINKS=str(links),
                 KRUST_REPO=f"{registry.host}/refused")  # fmt: skip
    message = refused(done)
    assert "No wheel of `krust-x86-only` for linux/arm64 (Python 3.11, manylinux_2_36)" in message
    assert "UV_INDEX" in message and "hatch-krust merge" in message
    assert not [r for r in registry.requests_since(mark) if "/refused/" in r]


def test_own_extension_for_another_architecture_is_refused_before_installing(
    base: str, registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = make_project(tmp_path_factory.mktemp("platforms-ext"))
    built = hatchling_build(project, "wheel", build_env(tmp_path_factory.mktemp("c")))
    assert built.returncode == 0, built.stderr
    pure = next((project / "dist").glob("*.whl"))
    platform_wheel = pure.with_name("krust_layered_demo-1.0.0-cp311-cp311-linux_x86_64.whl")
    pure.rename(platform_wheel)
    mark = registry.mark()
    done = build(project, tmp_path_factory.mktemp("platforms-ext-cache"),
                 KRUST_BASE_IMAGE=base, KRUST_PLATFORMS=PLATFORMS, KRUST_WHEEL=str(platform_wheel),
                 KRUST_REPO=f"{registry.host}/refused")  # fmt: skip
    message = refused(done)
    assert "asks for linux/arm64, but the project's own wheel" in message
    assert "compiled extension for linux_x86_64" in message and "hatch-krust merge" in message
    assert "Installing the project" not in message  # refused before any install
    assert not [r for r in registry.requests_since(mark) if "/refused/" in r]


def test_bundled_for_a_foreign_platform_is_refused_before_any_work(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    project = make_project(tmp_path_factory.mktemp("platforms-bundled"))
    done = build(project, tmp_path_factory.mktemp("platforms-bundled-cache"),
                 KRUST_BASE_IMAGE="scratch", KRUST_PLATFORMS=PLATFORMS)  # fmt: skip
    message = refused(done)
    assert "`KRUST_PLATFORMS` asks for linux/arm64" in message
    assert "is used (the base has none)" in message
    assert "Building the wheel" not in message
    done = build(project, tmp_path_factory.mktemp("platforms-bundled-cache2"),
                 KRUST_PYTHON="bundled", KRUST_PLATFORMS="linux/arm64")  # fmt: skip
    message = refused(done)
    assert "was asked for" in message and 'python = "base"' in message
    assert "Building the wheel" not in message and "Pulling" not in message


@pytest.mark.parametrize("where", ["oci-layout", "registry"])
def test_a_platform_the_base_lacks_is_one_message_naming_the_option(
    base: str, where: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = make_project(tmp_path_factory.mktemp("platforms-s390x"))
    spec = f"oci:{python_base_layout(CACHE)}:{BASE_TAG}" if where == "oci-layout" else base
    done = build(project, tmp_path_factory.mktemp("platforms-s390x-cache"),
                 KRUST_BASE_IMAGE=spec, KRUST_PLATFORMS="linux/amd64,linux/s390x")  # fmt: skip
    message = refused(done)
    assert (
        "`KRUST_PLATFORMS` asks for linux/s390x, but the base image has no image for it "
        "(it has: linux/amd64, linux/arm64)"
    ) in message
    assert "Building the wheel" not in message


def test_a_path_the_base_lacks_for_a_foreign_platform_names_the_path_and_the_bases_python(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """`python = PATH` of this machine on a Python base, for arm64: the message names that
    path and the base's own Python (not "the base has none", not `python = "bundled"`)."""
    project = make_project(tmp_path_factory.mktemp("platforms-path"))
    done = build(project, tmp_path_factory.mktemp("platforms-path-cache"),
                 KRUST_BASE_IMAGE=f"oci:{python_base_layout(CACHE)}:{BASE_TAG}",
                 KRUST_PYTHON=sys.executable, KRUST_PLATFORMS=PLATFORMS)  # fmt: skip
    message = refused(done)
    assert (
        f"Environment variable `KRUST_PYTHON` names {sys.executable!r}, which the base image "
        "lacks (its Python: /usr/bin/python3.11)"
    ) in message
    assert "`KRUST_PLATFORMS` asks for linux/arm64" in message
    assert "the base has none" not in message and 'python = "bundled"' not in message
    assert "Building the wheel" not in message


def test_on_the_usr_local_layout_of_the_official_images(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """A base laid out as `python:3.X` (the interpreter under /usr/local, PYTHON_VERSION in
    its config, no package record of it): the image runs that interpreter."""
    layout = usr_local_base(CACHE)
    project = make_project(tmp_path_factory.mktemp("platforms-usr-local"))
    done = build(project, tmp_path_factory.mktemp("platforms-usr-local-cache"),
                 KRUST_BASE_IMAGE=f"oci:{layout}:{BASE_TAG}")  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    archive = project / "dist/krust" / f"{STEM}.oci.tar"
    skopeo("copy", "-q", f"oci-archive:{archive}:1.0.0", f"oci:{tmp_path / 'layout'}:image")
    subprocess.run(["umoci", "unpack", "--image", f"{tmp_path / 'layout'}:image",
                    str(tmp_path / "bundle")], check=True, capture_output=True)  # fmt: skip
    root = tmp_path / "bundle/rootfs"
    argv = json.loads((tmp_path / "bundle/config.json").read_text())["process"]["args"]
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert os.readlink(root / "app/bin/python") == f"/usr/local/bin/python{minor}"
    ran = run_native(root, [*argv, "report", "venv"])
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)
    assert report["version"] == platform.python_version()  # the base's, from this machine
    assert (report["base_prefix"], report["venv"]) == ("/usr/local", 0)
    sbom = json.loads((project / "dist/krust" / f"{STEM}.cdx.json").read_text())
    versions = {c["name"]: c.get("version") for c in sbom["components"]}
    assert versions["cpython"] == platform.python_version()
    assert not [c for c in sbom["components"] if "python3" in c.get("purl", "")]


def test_verify_checks_every_platform_against_its_own_documents(
    first, registry: RegistryServer, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = f"{registry.host}/team/krust-layered-demo:1.0.0"
    assert main(["verify", reference]) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "(linux/amd64)" in err and "(linux/arm64)" in err


RUFF_PIN = "ruff==0.8.4"  # as the matrix tests (tests/matrix/test_real_projects_round2.py)
BAD = "import os\n"  # F401: `os` imported but unused


def unpack_archive(archive: Path, arch: str, where: Path) -> tuple[Path, list[str]]:
    """The image for `arch` of a build's archive as a root file system, and its Entrypoint.
    (The archive's index.json lists each platform's manifest under the version's ref name,
    so the layout gets an index.json naming only the one for `arch`.)"""
    layout = where / "layout"
    layout.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(layout, filter="data")
    index = json.loads((layout / "index.json").read_text())
    index["manifests"] = [
        {**m, "annotations": {"org.opencontainers.image.ref.name": "image"}}
        for m in index["manifests"]
        if m["platform"]["architecture"] == arch
    ]
    assert len(index["manifests"]) == 1, index
    (layout / "index.json").write_text(json.dumps(index))
    subprocess.run(["umoci", "unpack", "--image", f"{layout}:image", str(where / "bundle")],
                   check=True, capture_output=True)  # fmt: skip
    config = json.loads((where / "bundle/config.json").read_text())
    return where / "bundle/rootfs", config["process"]["args"]


def _ruff_report(done: subprocess.CompletedProcess[str]) -> None:
    assert "error while loading shared libraries" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stdout + done.stderr  # violations found: status 1
    assert "F401" in done.stdout and "`os` imported but unused" in done.stdout, done.stdout


def test_a_dependencys_native_program_is_the_script_on_every_platform(
    base: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """`script = "ruff"` on a project that depends on ruff: each platform's environment
    has that platform's ruff wheel, and its image runs that ruff (the amd64 one through
    the entrypoint, natively; the arm64 one under qemu-user, which cannot follow the
    launcher's execv without binfmt, so the program itself)."""
    project = make_project(tmp_path_factory.mktemp("platforms-ruff"))
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        '"cryptography==44.0.0"]', f'"cryptography==44.0.0", "{RUFF_PIN}"]'))  # fmt: skip
    done = build(project, tmp_path_factory.mktemp("platforms-ruff-cache"),
                 KRUST_BASE_IMAGE=base, KRUST_PLATFORMS=PLATFORMS, KRUST_SCRIPT="ruff")  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    written = project / "dist/krust"
    machines = {"amd64": 62, "arm64": 183}  # ELF e_machine: EM_X86_64, EM_AARCH64
    sboms = {"amd64": f"{STEM}.cdx.json", "arm64": f"{STEM}.linux-arm64.cdx.json"}
    for arch, sbom_name in sboms.items():
        root, argv = unpack_archive(written / f"{STEM}.oci.tar", arch, tmp_path / arch)
        assert argv[-1] == "/app/bin/ruff" and argv[0] == "/app/bin/python", argv
        program = (root / "app/bin/ruff").read_bytes()
        assert int.from_bytes(program[18:20], "little") == machines[arch]  # its own arch's
        sbom = json.loads((written / sbom_name).read_text())
        executable = sbom["metadata"]["component"]
        assert executable["name"] == "ruff"
        assert executable["hashes"][0]["content"] == hashlib.sha256(program).hexdigest()
        purls = [c.get("purl", "") for c in sbom["components"]]
        assert "pkg:pypi/ruff@0.8.4" in purls, purls
        (root / "srv").mkdir(exist_ok=True)
        (root / "srv/bad.py").write_text(BAD)
        args = ["check", "--no-cache", "--isolated", "/srv/bad.py"]
        if arch == "amd64":
            _ruff_report(run_native(root, [*argv, *args]))
        else:
            _ruff_report(run_foreign(root, [argv[-1], *args]))


def test_the_projects_own_native_program_on_a_python_base(
    base: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """ruff's own wheel as the project (`wheel`), `script = "ruff"`: on the base's Python
    as in the bundled layered image (issue 20)."""
    from tests.matrix.harness import fetch_wheel
    from tests.matrix.test_real_projects_round2 import RUFF

    project = tmp_path_factory.mktemp("platforms-ruff-own")
    wheel = fetch_wheel(RUFF, project / "wheels")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "ruff"\nversion = "{RUFF.version}"\n'
    )
    env = build_env(tmp_path_factory.mktemp("platforms-ruff-own-cache"), KRUST_FORMAT="layered",
                    KRUST_BASE_IMAGE=base, KRUST_WHEEL=str(wheel), KRUST_SCRIPT="ruff")  # fmt: skip
    done = hatchling_build(project, "krust", env)
    assert done.returncode == 0, done.stderr[-4000:]
    archive = project / f"dist/krust/ruff-{RUFF.version}.oci.tar"
    root, argv = unpack_archive(archive, "amd64", tmp_path)
    assert argv[-1] == "/app/bin/ruff" and os.readlink(root / "app/bin/python") == DEBIAN_PYTHON
    (root / "srv").mkdir(exist_ok=True)
    (root / "srv/bad.py").write_text(BAD)
    _ruff_report(run_native(root, [*argv, "check", "--no-cache", "--isolated", "/srv/bad.py"]))
