"""Which script to freeze: messages that point at where the user's mistake is."""

from __future__ import annotations

import pytest

from hatch_krust.config import load_config
from hatch_krust.errors import ConfigError
from hatch_krust.inputs import resolve_script


def test_a_wrong_krust_script_variable_is_named_as_the_variable() -> None:
    config = load_config({"script": "b1"}, env={"KRUST_SCRIPT": "nope"}, user_defaults={})
    with pytest.raises(ConfigError) as caught:
        resolve_script({"b1": "b1:main"}, "b1", config.script, config.origin("script"))
    assert str(caught.value).startswith("Environment variable `KRUST_SCRIPT` names `nope`")


def test_a_wrong_script_field_is_named_as_the_field() -> None:
    config = load_config({"script": "nope"}, env={}, user_defaults={})
    with pytest.raises(ConfigError) as caught:
        resolve_script({"b1": "b1:main"}, "b1", config.script, config.origin("script"))
    assert str(caught.value).startswith("Field `tool.hatch.build.targets.krust.script` names")


def test_gui_scripts_are_said_not_to_count() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_script({}, "g1", None)
    assert "`[project.gui-scripts]`" in str(caught.value)
