"""The options of issue 10: extras, a given wheel, entry-point groups left out."""

from __future__ import annotations

import pytest

from hatch_krust.config import load_config
from hatch_krust.errors import ConfigError


def test_the_new_options_from_the_table_and_the_environment() -> None:
    table = {"extras": ["cli"], "wheel": "dist/x.whl", "exclude-entry-point-groups": ["pytest11"]}
    config = load_config(table, env={}, user_defaults={})
    assert config.extras == ("cli",)
    assert config.wheel == "dist/x.whl"
    assert config.exclude_entry_point_groups == ("pytest11",)
    env = {"KRUST_EXTRAS": "cli, http2", "KRUST_EXCLUDE_ENTRY_POINT_GROUPS": "a,b"}
    config = load_config({}, env=env, user_defaults={})
    assert config.extras == ("cli", "http2")
    assert config.exclude_entry_point_groups == ("a", "b")


def test_extras_and_groups_are_part_of_the_cache_key() -> None:
    plain = load_config({}, env={}, user_defaults={}).freeze_options()
    extra = load_config({"extras": ["cli"]}, env={}, user_defaults={}).freeze_options()
    groups = load_config(
        {"exclude-entry-point-groups": ["x"]}, env={}, user_defaults={}
    ).freeze_options()
    assert plain != extra
    assert plain != groups
    assert extra["extras"] == ["cli"]


def test_an_extra_that_is_no_name_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"`KRUST_EXTRAS` has an invalid extra"):
        load_config({}, env={"KRUST_EXTRAS": "cli]"}, user_defaults={})
    with pytest.raises(ConfigError, match=r"`tool\.hatch\.build\.targets\.krust\.wheel` must be"):
        load_config({"wheel": 3}, env={}, user_defaults={})
