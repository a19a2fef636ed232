"""The registry destination looks credentials up in the build's own environment (the one
injected into the configuration), not in whatever the process happens to have."""

from __future__ import annotations

import json
from pathlib import Path

from hatch_krust.building.image import ImagePlan
from hatch_krust.config import load_config
from hatch_krust.flow import destination_for
from hatch_krust.oci.platform import Platform
from hatch_krust.publish.registry import RegistryDestination
from hatch_krust.registry.credentials import lookup_credentials


def test_destination_for_carries_the_configs_environment(tmp_path: Path) -> None:
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"auths": {"registry.example": {"auth": "YWxpY2U6cHc="}}}))
    environ = {"REGISTRY_AUTH_FILE": str(auth), "HOME": str(tmp_path)}
    config = load_config({"repository": "registry.example/team/app"}, env=environ,
                         user_defaults={})
    plan = ImagePlan(Platform.host(), ("latest",), "registry.example/team/app")
    destination = destination_for(plan, config)
    assert isinstance(destination, RegistryDestination)
    assert destination.env == environ
    options = destination._options()
    assert options.env == environ
    found = lookup_credentials("registry.example", "team/app", env=options.env)
    assert found is not None
    assert found.username == "alice"


def test_without_an_environment_the_process_environment_is_used() -> None:
    destination = RegistryDestination("registry.example/team/app", ("latest",))
    assert destination._options().env is None  # Options' default: os.environ
