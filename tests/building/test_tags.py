"""Tag templates: fields, tag-safe versions, and release lines kept for releases."""

from __future__ import annotations

import pytest

from hatch_krust.building.tags import release_only_templates, render_tags, tag_safe
from hatch_krust.errors import ConfigError

TEMPLATES = ("latest", "{major}", "{major}.{minor}", "{version}")


def test_release_fills_every_field() -> None:
    assert render_tags(TEMPLATES, "1.4.3") == ["latest", "1", "1.4", "1.4.3"]
    assert render_tags(("{major}.{minor}.{micro}",), "2.0") == ["2.0.0"]


@pytest.mark.parametrize("version", ["1.4.3.dev1+ga04b7f9", "1.5.0rc1", "1.4.3+local", "2.0a1"])
def test_a_dev_pre_or_local_version_moves_no_release_line(version: str) -> None:
    tags = render_tags(TEMPLATES, version)
    assert tags == ["latest", tag_safe(version)]
    assert release_only_templates(TEMPLATES, version) == ["{major}", "{major}.{minor}"]


def test_tag_safe() -> None:
    assert tag_safe("1.4.3.dev1+ga04b7f9") == "1.4.3.dev1-ga04b7f9"
    assert tag_safe(".hidden") == "hidden"
    assert tag_safe("") == "latest"


def test_repeats_are_dropped_and_order_kept() -> None:
    assert render_tags(("{version}", "latest", "{version}"), "1.0.0") == ["1.0.0", "latest"]


def test_fields_need_a_parsable_version() -> None:
    with pytest.raises(ConfigError, match=r"needs a version of the form MAJOR\.MINOR\.MICRO"):
        render_tags(("{major}",), "not-a-version")
