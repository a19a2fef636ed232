"""Build, then publish: the flow's steps with the freeze replaced by a small file and the
registry by an in-process destination (the real registry destination is exercised by the
e2e push tests). Nothing here needs root, tools or the network."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

import hatch_krust.building.image
import hatch_krust.formats.static
from hatch_krust.building.built import BuiltImage
from hatch_krust.building.image import ImagePlan, ProjectFacts
from hatch_krust.config import KrustConfig, load_config
from hatch_krust.errors import RegistryError
from hatch_krust.flow import build_and_publish, destination_for
from hatch_krust.formats.executable import BinaryResult
from hatch_krust.inputs import BuildInputs
from hatch_krust.oci.platform import Platform
from hatch_krust.publish import Destination, Published
from hatch_krust.publish.registry import RegistryDestination
from tests.heard import Heard

REFERENCE = "reg.example/team/app@sha256:" + "ab" * 32


@dataclass
class FakeDestination:
    """A destination that keeps what it was given and answers with a fixed reference."""

    fail: bool = False
    received: list[BuiltImage] = field(default_factory=list)

    def publish(self, image: BuiltImage, reporter: Any) -> Published:
        self.received.append(image)
        if self.fail:
            raise RegistryError("the fake registry is down")
        where = tuple(
            {"digest": f"sha256:{i:064x}", "listedBy": "referrers-api"}
            for i, _ in enumerate(image.documents)
        )
        return Published(REFERENCE, where)


def fake_executable(inputs: BuildInputs, reporter: Any, out_dir: Path) -> BinaryResult:
    path = out_dir / f"app-{inputs.version}-linux-amd64"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"#!/bin/sh\necho not really frozen\n")
    path.chmod(0o755)
    return BinaryResult(path=path, cached=False, script="app")


@pytest.fixture
def no_freeze(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hatch_krust.formats.static, "build_executable", fake_executable)


def inputs_for(tmp_path: Path, **table: Any) -> BuildInputs:
    env = {"KRUST_CACHE_DIR": str(tmp_path / "cache"), "SOURCE_DATE_EPOCH": "1700000000"}
    table = {"format": "static", "base-image": "scratch", **table}
    config = load_config(table, env=env, user_defaults={})
    (tmp_path / "project").mkdir(exist_ok=True)
    return BuildInputs(
        root=tmp_path / "project",
        dist_name="app",
        version="1.0",
        scripts={"app": "app:main"},
        config=config,
        epoch=1700000000,
        out_dir=tmp_path / "dist" / "krust",
    )


def test_a_published_build_installs_everything_and_records_the_reference(
    tmp_path: Path, no_freeze: None
) -> None:
    fake = FakeDestination()
    inputs = inputs_for(tmp_path, repository="reg.example/team/app")
    outcome = build_and_publish(inputs, ProjectFacts(), Heard(), choose=lambda *_: fake)
    (built,) = fake.received
    assert built.record["reference"] is None  # the build step publishes nothing
    assert built.record["repository"] == "reg.example/team/app"
    assert outcome.reference == REFERENCE
    out = inputs.out_dir
    assert sorted(p.name for p in out.iterdir()) == [
        "app-1.0-linux-amd64",
        "app-1.0.build.json",
        "app-1.0.cdx.json",
        "app-1.0.oci.tar",
        "app-1.0.provenance.json",
        "app-1.0.ref",
    ]
    assert (out / "app-1.0.ref").read_text() == REFERENCE + "\n"
    record = json.loads((out / "app-1.0.build.json").read_text())
    assert record == outcome.record
    assert record["reference"] == REFERENCE
    assert [a["digest"] for a in record["attestations"]] == [f"sha256:{0:064x}", f"sha256:{1:064x}"]
    assert record["index"]["digest"] == built.index.digest == outcome.index_digest
    assert (out / "app-1.0-linux-amd64").stat().st_mode & 0o777 == 0o755


def test_a_local_build_removes_a_stale_ref(tmp_path: Path, no_freeze: None) -> None:
    inputs = inputs_for(tmp_path)
    (inputs.out_dir).mkdir(parents=True)
    (inputs.out_dir / "app-1.0.ref").write_text("old\n")
    outcome = build_and_publish(inputs, ProjectFacts(), Heard())
    assert outcome.reference is None
    assert not (inputs.out_dir / "app-1.0.ref").exists()
    assert json.loads(outcome.record_path.read_text())["reference"] is None


def test_a_static_image_build_says_how_to_run_it_on_a_read_only_root(
    tmp_path: Path, no_freeze: None
) -> None:
    reporter = Heard()
    build_and_publish(inputs_for(tmp_path), ProjectFacts(), reporter)
    hints = [line for line in reporter.lines if "--tmpfs /tmp:exec" in line]
    assert len(hints) == 1, reporter.lines
    assert "emptyDir" in hints[0]
    assert "\n" not in hints[0]


def test_switching_to_a_format_without_an_executable_removes_the_old_one(
    tmp_path: Path, no_freeze: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """static, then layered: the outputs are exactly the second build's (the layered
    format is stood in for by the same build without its executable)."""
    import hatch_krust.flow as flow

    inputs = inputs_for(tmp_path)
    build_and_publish(inputs, ProjectFacts(), Heard())
    assert (inputs.out_dir / "app-1.0-linux-amd64").is_file()
    kept = inputs.out_dir / "app-1.0-linux-arm64"  # not this build's: e.g. copied in by hand
    kept.write_text("x")
    real = flow.build_image

    def layered(*args: Any) -> BuiltImage:
        return replace(real(*args), installs=(), format="layered")

    monkeypatch.setattr(flow, "build_image", layered)
    outcome = build_and_publish(inputs, ProjectFacts(), Heard())
    assert outcome.files == ()
    assert sorted(p.name for p in inputs.out_dir.iterdir()) == [
        "app-1.0-linux-arm64",
        "app-1.0.build.json",
        "app-1.0.cdx.json",
        "app-1.0.oci.tar",
        "app-1.0.provenance.json",
    ]


def test_a_failed_publication_leaves_the_local_outputs_and_no_ref(
    tmp_path: Path, no_freeze: None
) -> None:
    inputs = inputs_for(tmp_path, repository="reg.example/team/app")
    (inputs.out_dir).mkdir(parents=True)
    (inputs.out_dir / "app-1.0.ref").write_text("from an earlier push\n")
    with pytest.raises(RegistryError, match="fake registry is down"):
        build_and_publish(
            inputs, ProjectFacts(), Heard(), choose=lambda *_: FakeDestination(fail=True)
        )
    assert (inputs.out_dir / "app-1.0.oci.tar").is_file()
    assert not (inputs.out_dir / "app-1.0.ref").exists()
    record = json.loads((inputs.out_dir / "app-1.0.build.json").read_text())
    assert record["reference"] is None
    assert "digest" not in record["attestations"][0]


def test_the_configuration_chooses_a_registry_or_nothing() -> None:
    platform = Platform.host()
    config = KrustConfig(insecure_registries=("localhost:5000",))
    assert destination_for(ImagePlan(platform, ("latest",), None), config) is None
    chosen = destination_for(ImagePlan(platform, ("latest", "1"), "localhost:5000/a"), config)
    assert chosen == RegistryDestination("localhost:5000/a", ("latest", "1"), ("localhost:5000",))
    destination: Destination = chosen  # the registry destination satisfies the protocol
    assert destination is chosen


@pytest.mark.parametrize(
    ("table", "environ", "named"),
    [
        ({}, {"KRUST_BASE_IMAGE": "no_such::ref!!"}, "Environment variable `KRUST_BASE_IMAGE`"),
        ({"base-image": "no_such::ref!!"}, {}, "Field `tool.hatch.build.targets.krust.base-image`"),
        ({}, {"KRUST_REPO": "ko.local"}, "`krust.local`"),
        ({"repository": "ko.local/team"}, {}, "`krust.local`"),
    ],
)
def test_a_bad_base_image_or_ko_local_fails_before_any_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: dict, environ: dict, named: str
) -> None:
    """`KRUST_REPO=ko.local` used to build everything and then fail at the push; a
    malformed base image did not say which option or variable held it."""
    from hatch_krust.errors import ConfigError

    built: list[str] = []
    monkeypatch.setattr(
        hatch_krust.formats.static, "build_executable", lambda *a: built.append("frozen")
    )
    env = {"KRUST_CACHE_DIR": str(tmp_path / "cache"), **environ}
    table = {"format": "static", "base-image": "scratch", **table}
    config = load_config(table, env=env, user_defaults={})
    (tmp_path / "project").mkdir()
    inputs = BuildInputs(
        root=tmp_path / "project", dist_name="app", version="1.0", scripts={"app": "app:main"},
        config=config, epoch=0, out_dir=tmp_path / "dist" / "krust",
    )  # fmt: skip
    with pytest.raises(ConfigError) as info:
        build_and_publish(inputs, ProjectFacts(), Heard())
    assert named in str(info.value)
    assert "\n" not in str(info.value)
    assert built == []
    assert not (tmp_path / "dist").exists()
