"""Validation matches whole values (issue 21 item 9): `$` also matches before a final
newline, so `latest\\n` passed as a tag, and ports had no range."""

from __future__ import annotations

import pytest

from hatch_krust.config import load_config
from hatch_krust.errors import ConfigError, ImageError, InvalidReference
from hatch_krust.oci.assemble import ImageOptions
from hatch_krust.oci.digest import is_digest
from hatch_krust.oci.platform import Platform
from hatch_krust.oci.reference import parse_reference
from hatch_krust.registry.locations import parse_location

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ({"tags": ["latest\n"]}, "tags"),
        ({"env": {"FOO\n": "bar"}}, "env"),
        ({"ports": ["8080\n"]}, "ports"),
        ({"ports": ["99999/udp"]}, "ports"),
        ({"ports": ["0"]}, "ports"),
        ({"ports": ["65536"]}, "ports"),
        ({"user": "app\n"}, "user"),
        ({"script": "app\n"}, "script"),
        ({"hidden-imports": ["mod\n"]}, "hidden-imports"),
        ({"extras": ["web\n"]}, "extras"),
        ({"platforms": ["linux/amd64\n"]}, "platforms"),
        ({"repository": "registry.example/app\n"}, "repository"),
    ],
)
def test_a_trailing_newline_or_an_out_of_range_port_is_refused(
    table: dict[str, object], field: str
) -> None:
    with pytest.raises(ConfigError, match=field):
        load_config(table, env={}, user_defaults={})


def test_ports_at_the_ends_of_the_range_are_accepted() -> None:
    config = load_config({"ports": ["1", "65535/udp", "8080/tcp"]}, env={}, user_defaults={})
    assert config.ports == ("1", "65535/udp", "8080/tcp")


@pytest.mark.parametrize(
    "options",
    [
        {"env": {"FOO\n": "x"}},
        {"exposed_ports": ("8080\n",)},
        {"exposed_ports": ("70000",)},
        {"user": "1000\n"},
        {"name": "app\n"},
    ],
)
def test_the_assembler_refuses_the_same(options: dict[str, object]) -> None:
    kwargs: dict[str, object] = {"name": "app", "platform": Platform.parse("linux/amd64")}
    kwargs.update(options)
    with pytest.raises(ImageError):
        ImageOptions(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    ["registry.example/app:latest\n", "registry.example/app\n:v1",
     f"registry.example/app@{DIGEST}\n", "registry.example:5000\n/app:v1",
     "registry.example/app:l\u00e4test"],
)
def test_references_match_whole(text: str) -> None:
    with pytest.raises(InvalidReference):
        parse_reference(text)


def test_digests_and_layout_tags_match_whole(tmp_path: object) -> None:
    assert is_digest(DIGEST)
    assert not is_digest(DIGEST + "\n")
    with pytest.raises(Exception, match="tag"):
        parse_location(f"oci:{tmp_path}:v1\n")
