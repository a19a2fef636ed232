"""The hatch classes' own logic without a build: the inputs made from hatchling's
metadata, and the wheel hook's table over the krust target's."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from hatch_krust.config import load_config
from hatch_krust.errors import ConfigError
from hatch_krust.plugin.project import build_inputs, project_facts
from hatch_krust.plugin.wheel_hook import HOOK_PREFIX, hook_config

TARGET = "tool.hatch.build.targets.krust"


def metadata() -> SimpleNamespace:
    core = SimpleNamespace(
        raw_name="My_App",
        scripts={"my-app": "my_app:main"},
        description=None,
        license_expression="MIT",
        urls={"Source": "https://example.org/app"},
    )
    return SimpleNamespace(core=core, version="1.2.3")


def test_inputs_from_hatchlings_metadata(tmp_path: Path) -> None:
    env = {"SOURCE_DATE_EPOCH": "42"}
    config = load_config({}, env=env, user_defaults={})
    inputs = build_inputs(
        str(tmp_path), metadata(), config, reproducible=True, out_dir=tmp_path / "out"
    )
    assert (inputs.root, inputs.dist_name, inputs.version) == (tmp_path, "My_App", "1.2.3")
    assert inputs.scripts == {"my-app": "my_app:main"}
    assert inputs.config is config
    assert inputs.epoch == 42  # SOURCE_DATE_EPOCH from the configuration's environment
    assert inputs.env is env
    # what an in-process wheel build sees: this process's own environment, not `env`
    assert inputs.process_env is os.environ
    assert inputs.wheel is None
    again = build_inputs(
        tmp_path, metadata(), config, reproducible=False, out_dir=tmp_path, wheel=tmp_path / "w"
    )
    assert again.epoch is None
    assert again.wheel == tmp_path / "w"


def test_project_facts() -> None:
    facts = project_facts(metadata())
    assert (facts.description, facts.licenses) == ("", "MIT")
    assert dict(facts.urls) == {"Source": "https://example.org/app"}


def test_the_hook_table_goes_over_the_krust_targets() -> None:
    target = {"base-image": "scratch", "output-dir": "build/images", "reproducible": True}
    hook = {"output-dir": "out", "enable-by-default": True, "dependencies": ["x"]}
    config = hook_config(hook, target, {})
    assert (config.base_image, config.output_dir) == ("scratch", "out")
    assert config.origin("output-dir") == f"Field `{HOOK_PREFIX}.output-dir`"
    assert config.origin("base-image") == f"Field `{TARGET}.base-image`"
    assert hook_config({}, None, {}).base_image == "cgr.dev/chainguard/static:latest"


def test_each_table_names_its_own_mistakes() -> None:
    with pytest.raises(ConfigError, match=rf"^Field `{TARGET}\.base_image` is not a hatch"):
        hook_config({}, {"base_image": "scratch"}, {})
    with pytest.raises(ConfigError, match=rf"^Field `{HOOK_PREFIX}\.tag` is not a hatch"):
        hook_config({"tag": "x"}, {}, {})
    with pytest.raises(ConfigError, match=rf"^Field `{TARGET}\.compress` must be a boolean"):
        hook_config({}, {"compress": "yes"}, {})


def test_the_built_line_names_the_index_and_the_platform_manifest(tmp_path: Path) -> None:
    """Three digests per build: the line says which is the index (to deploy) and which the
    platform image's manifest (the one skopeo shows and the attachments name)."""
    from hatch_krust.flow import ImageOutcome
    from hatch_krust.plugin.digests import built_line

    index, manifest = "sha256:" + "ae" * 32, "sha256:" + "5b" * 32
    outcome = ImageOutcome(
        files=(), archive=tmp_path / "app-1.0.oci.tar", record_path=tmp_path / "r",
        index_digest=index, reference=None, platform="linux/amd64",
        record={"platforms": [{"platform": "linux/amd64", "digest": manifest, "size": 1}]},
    )  # fmt: skip
    line = built_line(outcome)
    assert line == (
        f"Built the image {index} in {tmp_path / 'app-1.0.oci.tar'} (the index: the digest "
        f"to deploy; its linux/amd64 manifest is {manifest})"
    )
