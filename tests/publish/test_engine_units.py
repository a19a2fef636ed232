"""Choosing the local engine for `krust.local`, without any engine: the environment's PATH
is a directory the test makes, so nothing here needs docker, podman or root. The loads
themselves, with the real engines, are tests/publish/test_local_engine.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hatch_krust.building.image import ImagePlan, ProjectFacts, plan_image
from hatch_krust.config import load_config
from hatch_krust.errors import ConfigError, EngineError
from hatch_krust.flow import build_and_publish, destination_for, repository_template
from hatch_krust.oci.platform import Platform
from hatch_krust.publish.engine import LocalEngineDestination, find_engine, is_local
from hatch_krust.publish.registry import RegistryDestination
from tests.flow.test_build_then_publish import inputs_for
from tests.heard import Heard


def bin_dir(tmp_path: Path, *names: str) -> Path:
    """A PATH directory holding an executable file for each of `names`."""
    directory = tmp_path / "bin"
    directory.mkdir(exist_ok=True)
    for name in names:
        (directory / name).write_text("#!/bin/sh\nexit 0\n")
        (directory / name).chmod(0o755)
    return directory


def test_krust_local_names_the_engine_not_a_registry() -> None:
    assert is_local("krust.local") and is_local("krust.local/team/app")
    assert not is_local("krust.localhost/app") and not is_local("ko.local/app")
    assert not is_local("registry.example/krust.local")


def test_docker_first_podman_next(tmp_path: Path) -> None:
    both = bin_dir(tmp_path, "docker", "podman")
    assert find_engine({"PATH": str(both)}) == ("docker", str(both / "docker"))
    assert find_engine({"PATH": str(both), "KRUST_LOCAL_ENGINE": "podman"})[0] == "podman"
    (both / "docker").unlink()
    assert find_engine({"PATH": str(both)}) == ("podman", str(both / "podman"))


def test_no_engine_is_one_line_naming_what_was_looked_for(tmp_path: Path) -> None:
    with pytest.raises(EngineError) as caught:
        find_engine({"PATH": str(bin_dir(tmp_path))})
    message = str(caught.value)
    assert message == (
        "No local container engine for `krust.local`: looked for docker and podman on PATH; "
        "install one, or set KRUST_REPO to a registry to push there instead"
    )


def test_the_chosen_engine_must_be_there(tmp_path: Path) -> None:
    only_docker = bin_dir(tmp_path, "docker")
    with pytest.raises(EngineError) as caught:
        find_engine({"PATH": str(only_docker), "KRUST_LOCAL_ENGINE": "podman"})
    assert str(caught.value).startswith("`KRUST_LOCAL_ENGINE=podman` but podman is not on PATH")
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match=r"`KRUST_LOCAL_ENGINE` is 'nerdctl': give docker or"):
        find_engine({"PATH": str(only_docker), "KRUST_LOCAL_ENGINE": "nerdctl"})


@pytest.mark.parametrize(
    ("env", "table", "repository"),
    [
        ({"KRUST_REPO": "krust.local"}, {}, "krust.local/app"),
        ({"KRUST_REPO": "krust.local/team"}, {}, "krust.local/team/app"),
        ({}, {"repository": "krust.local"}, "krust.local/app"),
        ({}, {"repository": "krust.local/team/web"}, "krust.local/team/web"),
    ],
)
def test_every_spelling_of_krust_local_loads_into_the_engine(
    tmp_path: Path, env: dict[str, str], table: dict[str, str], repository: str
) -> None:
    path = bin_dir(tmp_path, "podman")
    environ = {"PATH": str(path), **env}
    config = load_config({"base-image": "scratch", **table}, env=environ, user_defaults={})
    inputs = inputs_for(tmp_path)
    plan = plan_image(replace(inputs, config=config), Heard(), repository_template(config))
    assert plan.repository == repository
    destination = destination_for(plan, config)
    assert isinstance(destination, LocalEngineDestination)
    assert (destination.engine, destination.binary) == ("podman", str(path / "podman"))
    assert destination.tags == ("latest", "1.0")
    assert destination.environ["PATH"] == str(path)  # the build's environment, passed on


def test_a_registry_is_still_a_registry(tmp_path: Path) -> None:
    config = load_config({}, env={"KRUST_REPO": "reg.example/team"}, user_defaults={})
    plan = ImagePlan(Platform.host(), ("1.0",), "reg.example/team/app")
    assert isinstance(destination_for(plan, config), RegistryDestination)


def test_no_engine_fails_before_anything_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hatch_krust.formats.static

    def must_not_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("built although no engine can load the image")

    monkeypatch.setattr(hatch_krust.formats.static, "build_executable", must_not_build)
    inputs = inputs_for(tmp_path)
    environ = {"PATH": str(bin_dir(tmp_path)), "KRUST_REPO": "krust.local"}
    config = load_config({"base-image": "scratch"}, env=environ, user_defaults={})
    with pytest.raises(EngineError, match="looked for docker and podman on PATH"):
        build_and_publish(replace(inputs, config=config), ProjectFacts(), Heard())
    assert not inputs.out_dir.exists()
