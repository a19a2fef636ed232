"""`format = "layered"` through the real build: `python -m hatchling build -t krust`.

The demo project (PyYAML's C loader, package data) is built with KRUST_FORMAT=layered on
`scratch`, run with runc on a read-only root with no /tmp volume, then changed by one
line, rebuilt and pushed again to a real registry: only the project layer (plus the
config, the manifests and the attachments) may be uploaded the second time. As PID 1, in
both formats: tests/pid1/test_pid1_containers.py.
"""

from __future__ import annotations

import json
import re
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from hatch_krust.attest import Document, attach
from hatch_krust.attest.facts import INTOTO
from hatch_krust.cli import main
from hatch_krust.oci.descriptor import Descriptor
from hatch_krust.oci.layout import Layout
from hatch_krust.oci.reference import parse_reference
from tests.attest.test_scanners import found_packages, sbom_packages, syft
from tests.e2e.conftest import build_env, hatchling_build
from tests.infra.images import BASE_TAG, make_umoci_base
from tests.infra.registry import RegistryServer
from tests.layered.conftest import PROJECT, run

pytestmark = pytest.mark.infra

STEM = "krust-layered-demo-1.0.0"


@dataclass(frozen=True)
class Build:
    """One build's outputs: the layout unpacked from its archive (tag `latest`)."""

    out: Path
    layout: Path
    stderr: str
    provenance: bytes  # as this build wrote it (a later build overwrites the file)

    @property
    def record(self) -> dict:
        return json.loads((self.out / f"{STEM}.build.json").read_text())

    def manifest(self) -> dict:
        opened = Layout.open(self.layout)
        index = json.loads(opened.blob_path(opened.resolve("latest").digest).read_bytes())
        return json.loads(opened.blob_path(index["manifests"][0]["digest"]).read_bytes())

    def file(self, suffix: str) -> Path:
        return self.out / f"{STEM}{suffix}"

    def layer_digests(self) -> list[str]:
        return [layer["digest"] for layer in self.manifest()["layers"]]


def build(project: Path, cache: Path, where: Path, **env: str) -> Build:
    settings = {"KRUST_FORMAT": "layered", "KRUST_BASE_IMAGE": "scratch", **env}
    environment = build_env(cache, **settings)
    done = hatchling_build(project, "krust", environment)
    assert done.returncode == 0, done.stderr[-4000:]
    out = project / "dist" / "krust"
    layout = where / "layout"
    with tarfile.open(out / f"{STEM}.oci.tar") as archive:
        archive.extractall(layout, filter="data")
    opened = Layout.open(layout)
    opened.add_manifest(opened.resolve("1.0.0"), "latest")
    provenance = (out / f"{STEM}.provenance.json").read_bytes()
    return Build(out, layout, done.stderr, provenance)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("format-cache")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("format-project") / "project"
    shutil.copytree(PROJECT, copy)
    return copy


@pytest.fixture(scope="module")
def first(
    project: Path, cache: Path, registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory
) -> Build:
    where = tmp_path_factory.mktemp("format-first")
    return build(project, cache, where, KRUST_REPO=f"{registry.host}/team")


def test_the_layered_build_runs_on_a_read_only_root_without_tmp(
    first: Build, tmp_path: Path
) -> None:
    done = run(first.layout, tmp_path, ["report"])
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["data"] == "hello from the data file"
    assert report["cloader"] is True  # PyYAML's compiled extension, with libyaml
    assert report["yaml"] == {"answer": 42}
    assert report["executable"] == "/app/bin/python"
    assert report["uid"] == 65532
    record = first.record
    assert record["executable"] is None  # the layered format has no single executable
    assert record["format"] == "layered"
    assert not list(first.out.glob("krust-layered-*-linux-*"))
    layers = [h.get("comment") for h in _config(first)["history"]]
    assert layers == [
        "runtime files",
        "time zone database (the build host's /usr/share/zoneinfo)",  # scratch has none
        "system libraries",
        "interpreter",
        "third-party packages",
        "project",
    ]


def test_the_sbom_names_system_libraries_interpreter_and_packages(first: Build) -> None:
    sbom = json.loads((first.out / f"{STEM}.cdx.json").read_text())
    purls = [c.get("purl", "") for c in sbom["components"]]
    assert any(p.startswith("pkg:deb/debian/libc6@") or p.startswith("pkg:deb/libc6@")
               for p in purls), purls  # fmt: skip
    assert any(p.startswith("pkg:pypi/pyyaml@6.0.2") for p in purls), purls
    names = {c["name"]: c.get("version") for c in sbom["components"]}
    assert names["libc.so.6"]  # with the Debian package's version
    assert names["cpython"].startswith("3.")
    component = sbom["metadata"]["component"]
    paths = {p["name"]: p["value"] for p in component["properties"]}
    assert paths["hatch-krust:executable:path"] == "/app/bin/krust-layered"


def test_verify_checks_the_console_script_and_the_layers(
    first: Build, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = first.record["reference"]
    assert main(["verify", reference]) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "executable /app/bin/krust-layered is sha256:" in err
    assert "the layers system libraries, interpreter, third-party packages, project" in err


@pytest.mark.slow
def test_syft_finds_every_package_of_the_sbom_in_the_layered_image(first: Build) -> None:
    """The venv's dist-info directories and the dpkg status entries of the system libraries."""
    wanted = sbom_packages(first)
    assert {kind for kind, _, _ in wanted} == {"pypi", "deb"}
    assert any(name == "libc6" for kind, name, _ in wanted if kind == "deb")
    artifacts = syft(f"oci-archive:{first.out / f'{STEM}.oci.tar'}")
    missing = wanted - found_packages(artifacts)
    assert not missing, f"Syft did not find {sorted(missing)}"


def test_two_clean_builds_give_the_same_image(
    first: Build, tmp_path_factory: pytest.TempPathFactory
) -> None:
    copy = tmp_path_factory.mktemp("format-again") / "project"
    shutil.copytree(PROJECT, copy)
    cache = tmp_path_factory.mktemp("format-cache-again")
    again = build(copy, cache, tmp_path_factory.mktemp("format-again-out"))
    assert "from the cache" not in again.stderr
    assert again.layer_digests() == first.layer_digests()
    assert again.record["index"]["digest"] == first.record["index"]["digest"]


@pytest.mark.usefixtures("first")  # its build fills the layer cache this one is served from
def test_the_layered_build_on_an_oci_layout_base_runs_as_the_configured_user(
    cache: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    base = make_umoci_base(tmp_path_factory.mktemp("format-base") / "base")
    copy = tmp_path_factory.mktemp("format-on-base") / "project"
    shutil.copytree(PROJECT, copy)
    where = tmp_path_factory.mktemp("format-on-base-out")
    built = build(copy, cache, where, KRUST_BASE_IMAGE=f"oci:{base}:{BASE_TAG}", KRUST_USER="app")
    assert built.stderr.count("from the cache") == 4  # the layers do not depend on the base
    done = run(built.layout, tmp_path, ["report"])
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert (seen["uid"], seen["user"], seen["cwd"]) == (1000, "app", "/srv")
    assert seen["cloader"] is True


def test_a_one_line_change_rebuilds_and_pushes_only_the_project_layer(
    first: Build,
    project: Path,
    cache: Path,
    registry: RegistryServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    init = project / "src" / "krust_layered" / "__init__.py"
    init.write_text(init.read_text().replace('"original"', '"changed"'))
    mark = registry.mark()
    second = build(project, cache, tmp_path, KRUST_REPO=f"{registry.host}/team")
    requests = registry.requests_since(mark)
    before, after = first.layer_digests(), second.layer_digests()
    assert before[:-1] == after[:-1]  # runtime files, libraries, interpreter, packages
    assert before[-1] != after[-1]
    assert second.stderr.count("from the cache") == 3
    uploaded = _uploaded_digests(requests)
    config = second.manifest()["config"]["digest"]
    assert after[-1] in uploaded
    assert config in uploaded
    assert not set(after[:-1]) & uploaded, "a lower layer was uploaded again"
    done = run(second.layout, tmp_path, ["report"])
    assert json.loads(done.stdout)["change"] == "changed"
    # the first build's provenance, attached to the second image: same console script,
    # another project layer, which verify names
    reference = second.record["reference"]
    platform = second.record["platforms"][0]
    subject = Descriptor(second.manifest()["mediaType"], platform["digest"], platform["size"])
    stale = Document("provenance", INTOTO, f"{STEM}.provenance.json", first.provenance)
    attach(parse_reference(reference), subject, [stale])
    assert main(["verify", reference]) == 1
    assert "records the project layer as" in capsys.readouterr().err


def _config(built: Build) -> dict:
    opened = Layout.open(built.layout)
    return json.loads(opened.blob_path(built.manifest()["config"]["digest"]).read_bytes())


def _uploaded_digests(requests: list[str]) -> set[str]:
    """Digests of the blobs whose upload finished (`PUT …/blobs/uploads/…?digest=`) or was
    done in one request (`POST …/blobs/uploads/?digest=`, or a cross-repository mount)."""
    out = set()
    for line in requests:
        method, _, target = line.partition(" ")
        if method in ("PUT", "POST") and "/blobs/uploads/" in target:
            out.update(re.findall(r"(?:digest|mount)=(sha256(?::|%3A)[0-9a-f]{64})", target))
    return {d.replace("%3A", ":") for d in out}


def test_a_second_service_on_the_registry_mounts_every_layer(
    first: Build, project: Path, cache: Path, registry: RegistryServer, tmp_path: Path
) -> None:
    """Services built on one machine share the interpreter and library layers: pushed to
    another repository of the same registry, each layer is mounted from where the blob
    record (under KRUST_CACHE_DIR) saw it, never uploaded again (issue 21)."""
    mark = registry.mark()
    other = build(project, cache, tmp_path, KRUST_REPOSITORY=f"{registry.host}/other/service")
    requests = registry.requests_since(mark)
    layers = set(other.layer_digests())
    mounted = {d.replace("%3A", ":") for line in requests if line.startswith("POST")
               for d in re.findall(r"mount=(sha256(?::|%3A)[0-9a-f]{64})", line)}
    assert layers <= mounted, requests
    uploaded = {d.replace("%3A", ":") for line in requests if line.startswith("PUT")
                for d in re.findall(r"digest=(sha256(?::|%3A)[0-9a-f]{64})", line)}
    assert not layers & uploaded, "a layer the registry had was uploaded again"
    assert not [line for line in requests if line.startswith("PATCH")]
    assert other.record["reference"].startswith(f"{registry.host}/other/service@")
    assert (cache / "registry" / "blob-locations.json").is_file()


@pytest.fixture(scope="module")
def static(cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The same project in the static format (a real freeze)."""
    copy = tmp_path_factory.mktemp("static-project") / "project"
    shutil.copytree(PROJECT, copy)
    return build(copy, cache, tmp_path_factory.mktemp("static"), KRUST_FORMAT="static")


@pytest.mark.slow
def test_switching_from_static_to_layered_keeps_only_the_new_outputs(
    static: Build, cache: Path, tmp_path: Path
) -> None:
    """The static build said how to run it on a read-only root, once; a layered build of
    the same project afterwards removes the static executable from dist/krust/."""
    hints = [line for line in static.stderr.splitlines() if "--tmpfs /tmp:exec" in line]
    assert len(hints) == 1, static.stderr[-3000:]
    copy = tmp_path / "project"
    shutil.copytree(static.out.parents[1], copy)  # the static build's project and outputs
    assert list((copy / "dist" / "krust").glob("krust-layered-*-linux-*"))
    layered = build(copy, cache, tmp_path / "layered")
    assert layered.record["format"] == "layered"
    assert not list(layered.out.glob("krust-layered-*-linux-*"))
    assert sorted(p.name for p in layered.out.iterdir()) == sorted(
        f"{STEM}{suffix}" for suffix in (".build.json", ".cdx.json", ".oci.tar", ".provenance.json")
    )
    assert "--tmpfs /tmp:exec" not in layered.stderr


def test_a_dependencys_native_program_is_the_script_of_the_bundled_image(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """`script = "ruff"` on a project that depends on ruff: the program its wheel puts in
    the venv's bin runs (the same choice as on a Python base, tests/layered/
    test_platforms.py); a name no installed wheel ships is refused after the install."""
    copy = tmp_path_factory.mktemp("format-ruff") / "project"
    shutil.copytree(PROJECT, copy)
    pyproject = copy / "pyproject.toml"
    text = pyproject.read_text().replace('"pyyaml==6.0.2"]', '"pyyaml==6.0.2", "ruff==0.8.4"]')
    pyproject.write_text(text)
    (copy / "bad.py").write_text("import os\n")
    cache = tmp_path_factory.mktemp("format-ruff-cache")
    built = build(copy, cache, tmp_path / "image", KRUST_SCRIPT="ruff",
                  KRUST_EXTRA_FILES="/srv/bad.py=bad.py")  # fmt: skip
    done = run(built.layout, tmp_path, ["check", "--no-cache", "--isolated", "/srv/bad.py"])
    assert done.returncode == 1, done.stdout + done.stderr  # violations found: status 1
    assert "`os` imported but unused" in done.stdout, done.stdout
    refused = hatchling_build(copy, "krust", build_env(cache, KRUST_FORMAT="layered",
                              KRUST_BASE_IMAGE="scratch", KRUST_SCRIPT="rufff"))  # fmt: skip
    assert refused.returncode != 0 and "Traceback" not in refused.stderr, refused.stderr[-3000:]
    said = refused.stderr
    assert "names `rufff`, which is not in `[project.scripts]` nor a native program" in said
    assert "native programs: `ruff`." in refused.stderr, refused.stderr[-3000:]
    # said before the install, which the refusal has to wait for
    early = said.index("names `rufff`, which is not one of the project's console scripts")
    assert early < said.index("Installing the project and its dependencies")
