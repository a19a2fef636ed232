"""Where each configuration value came from, asked of the config instead of the
environment; hatchling's own keys accepted as hatchling names them; defaults shown from
the one place they are declared."""

from __future__ import annotations

from pathlib import Path

import pytest

from hatch_krust.building.image import ca_certificates
from hatch_krust.config import (
    OPTIONS,
    KrustConfig,
    hatchling_hook_keys,
    hatchling_target_keys,
    load_config,
)
from hatch_krust.errors import ConfigError

PREFIX = "tool.hatch.build.targets.krust"


def test_each_value_knows_where_it_came_from(tmp_path: Path) -> None:
    user = tmp_path / "config" / "hatch-krust" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('base-image = "registry.example/base:1"\n')
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "KRUST_TAGS": "a,b"}
    config = load_config({"script": "app", "tags": ["z"]}, env=env)
    assert config.origin("script") == f"Field `{PREFIX}.script`"
    assert config.origin("tags") == "Environment variable `KRUST_TAGS`"
    assert config.origin("base-image") == f"Field `base-image` in {user}"
    assert config.origin("user") == "The default"
    assert config.environ is env  # the mapping given, kept for later steps


def test_the_repository_prefix_is_named_as_the_variable() -> None:
    config = load_config(
        {"repository": "r.example/x"}, env={"KRUST_REPO": "r.example/t"}, user_defaults={}
    )
    assert config.repository == "r.example/t/{name}"
    assert config.origin("repository") == "Environment variable `KRUST_REPO`"


def test_a_missing_ca_file_is_named_where_it_was_set(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.pem")
    from_env = load_config({}, env={"KRUST_CA_CERTIFICATES": missing}, user_defaults={})
    with pytest.raises(ConfigError, match=r"^Environment variable `KRUST_CA_CERTIFICATES` names"):
        ca_certificates(from_env)
    from_table = load_config({"ca-certificates": missing}, env={}, user_defaults={})
    with pytest.raises(ConfigError, match=rf"^Field `{PREFIX}\.ca-certificates` names"):
        ca_certificates(from_table)


def test_a_bad_user_file_value_is_named_in_that_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({}, env={}, user_defaults={"repository": "Upper/Case"})
    assert str(caught.value).startswith("Field `repository` in ")
    assert "is not a valid repository name: 'Upper/Case'" in str(caught.value)


def test_hatchlings_own_keys_come_from_hatchling() -> None:
    targets, hooks = hatchling_target_keys(), hatchling_hook_keys()
    assert targets is not None
    assert hooks is not None
    assert {"dev-mode-exact", "reproducible", "hooks", "versions", "dependencies"} <= targets
    assert {"enable-by-default", "dependencies", "require-runtime-features"} <= hooks
    assert "base-image" not in targets


def test_dev_mode_exact_is_accepted() -> None:
    config = load_config(
        {"dev-mode-exact": True, "enable-by-default": False}, env={}, user_defaults={}
    )
    assert config == KrustConfig()


def test_defaults_are_shown_from_the_dataclass() -> None:
    shown = {o.key: o.default for o in OPTIONS}
    assert shown["tags"] == '["latest", "{version}"]'
    assert shown["base-image"] == f'"{KrustConfig().base_image}"'
    assert shown["compress"] == "false"
    assert shown["env"] == "{}"
    assert shown["repository"] == "none (build locally only)"
