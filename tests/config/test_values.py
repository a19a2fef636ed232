"""KrustConfig: types, values, environment overrides and user defaults, messages verbatim."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hatch_krust.config import OPTIONS, KrustConfig, load_config, option_fields
from hatch_krust.errors import ConfigError

PREFIX = "tool.hatch.build.targets.krust"


def load(table: dict[str, object], env: dict[str, str] | None = None, **kw: object) -> KrustConfig:
    return load_config(table, env=env or {}, user_defaults=kw.get("user", {}))  # type: ignore[arg-type]


def test_defaults() -> None:
    config = load({})
    assert config.script is None
    assert config.python == sys.executable
    assert config.compress is False
    assert config.base_image == "cgr.dev/chainguard/static:latest"
    assert config.tags == ("latest", "{version}")
    assert config.user == "65532"
    assert config.repository is None
    assert config.cache is True


def test_every_option_is_a_field() -> None:
    names = {f.name.replace("_", "-") for f in option_fields()}
    assert names == {o.key for o in OPTIONS}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"script": 3}, f"Field `{PREFIX}.script` must be a string, not an integer"),
        (
            {"compress": "yes"},
            f"Field `{PREFIX}.compress` must be a boolean (true or false), not a string",
        ),
        (
            {"tags": "latest"},
            f'Field `{PREFIX}.tags` must be an array of strings, not a string: write ["latest"]',
        ),
        (
            {"platforms": "all"},
            f'Field `{PREFIX}.platforms` must be an array of strings, not a string: write ["all"]',
        ),
        (
            {"hidden-imports": ["ok", 1]},
            f"Field `{PREFIX}.hidden-imports` must be an array of strings; item #2 is an integer",
        ),
        ({"env": {"A": 1}}, f"Field `{PREFIX}.env` must be a table of strings; `A` is an integer"),
        (
            {"ca-certificates": 3},
            f"Field `{PREFIX}.ca-certificates` must be true, false, or the path of a PEM bundle",
        ),
        ({"python": ""}, f"Field `{PREFIX}.python` must not be empty"),
    ],
)
def test_wrong_types(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(table)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)  # hatch-style config errors stay catchable



@pytest.mark.parametrize(
    ("table", "written"),
    [
        ({"args": "serve --port 8080"}, '["serve", "--port", "8080"]'),
        ({"pyinstaller-args": "--collect-all 'my pkg'"}, '["--collect-all", "my pkg"]'),
        ({"tags": "latest, {version}"}, '["latest", "{version}"]'),
        ({"platforms": "linux/amd64,linux/arm64"}, '["linux/amd64", "linux/arm64"]'),
        ({"args": "it's"}, '["it\'s"]'),  # not a shell line: given as one item
    ],
)
def test_a_string_for_an_array_is_answered_with_the_array_it_stands_for(
    table: dict[str, object], written: str
) -> None:
    """The hint wrapped the whole string in one item: `args = "serve --port 8080"` was told
    to write ["serve --port 8080"], one argument with two spaces in it. The string is split
    as the option's environment variable is (a shell line for the argument lists, commas
    for the others)."""
    with pytest.raises(ConfigError) as info:
        load(table)
    key = next(iter(table))
    assert str(info.value) == (
        f"Field `{PREFIX}.{key}` must be an array of strings, not a string: write {written}"
    )

@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ({"tags": ["ok", "no/slash"]}, "has an invalid tag"),
        ({"platforms": ["windows/amd64"]}, "has an invalid platform"),
        ({"ports": ["http"]}, "has an invalid port"),
        ({"env": {"1BAD": "x"}}, "has an invalid variable name: '1BAD'"),
        ({"user": "a b"}, "must be `USER` or `USER:GROUP`"),
        ({"workdir": "app"}, "must be an absolute path"),
        ({"repository": "Registry.Example/App"}, "is not a valid repository name"),
        ({"hidden-imports": ["not a module"]}, "has an invalid module name"),
    ],
)
def test_bad_values(table: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=r"^Field `tool\.hatch\.build\.targets\.krust\.") as info:
        load(table)
    assert fragment in str(info.value)


def test_unknown_key_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError) as info:
        load({"base_image": "scratch"})
    assert str(info.value) == (
        f"Field `{PREFIX}.base_image` is not a hatch-krust option; did you mean `base-image`?"
    )


def test_hatch_keys_are_allowed() -> None:
    assert load({"dependencies": ["hatch-krust"], "reproducible": True}).cache is True


def test_environment_overrides_table() -> None:
    env = {
        "KRUST_TAGS": "a, b",
        "KRUST_PUSH": "0",
        "KRUST_COMPRESS": "yes",
        "KRUST_ENV": "A=1,B=x=y",
        "KRUST_PYINSTALLER_ARGS": "--log-level 'WARN'",
        "KRUST_CA_CERTIFICATES": "/etc/my.pem",
    }
    config = load({"tags": ["z"], "push": True}, env)
    assert config.tags == ("a", "b")
    assert config.push is False
    assert config.compress is True
    assert config.env == (("A", "1"), ("B", "x=y"))
    assert config.pyinstaller_args == ("--log-level", "WARN")
    assert config.ca_certificates == "/etc/my.pem"


def test_environment_errors_name_the_variable() -> None:
    with pytest.raises(ConfigError) as info:
        load({}, {"KRUST_PUSH": "maybe"})
    assert str(info.value) == (
        "Environment variable `KRUST_PUSH` must be one of 1, 0, true, false, yes, no (got 'maybe')"
    )
    with pytest.raises(ConfigError, match=r"^Environment variable `KRUST_TAGS` has an invalid tag"):
        load({}, {"KRUST_TAGS": "bad tag"})


def test_repository_prefix_from_environment() -> None:
    assert load({}, {"KRUST_REPO": "ghcr.io/team/"}).repository == "ghcr.io/team/{name}"
    assert load({"repository": "ghcr.io/team/app"}).repository == "ghcr.io/team/app"


def test_user_defaults_are_below_project_and_environment(tmp_path: Path) -> None:
    user = {"base-image": "registry.example/base:1", "repository": "registry.example/me"}
    assert load({}, user=user).base_image == "registry.example/base:1"
    assert load({}, user=user).repository == "registry.example/me/{name}"
    assert load({"base-image": "scratch"}, user=user).base_image == "scratch"
    assert load({}, {"KRUST_BASE_IMAGE": "scratch"}, user=user).base_image == "scratch"


def test_user_defaults_file(tmp_path: Path) -> None:
    path = tmp_path / "hatch-krust" / "config.toml"
    path.parent.mkdir()
    path.write_text('base-image = "scratch"\n')
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert load_config({}, env=env).base_image == "scratch"
    path.write_text('tags = ["x"]\n')
    with pytest.raises(
        ConfigError, match=r"Unknown key `tags` in .*only `base-image` and `repository`"
    ):
        load_config({}, env=env)
    path.write_text("not toml = = \n")
    with pytest.raises(ConfigError, match="Could not read user defaults"):
        load_config({}, env=env)


@pytest.mark.parametrize(
    ("written", "hint"),
    [
        ("linux/x86_64", "OCI calls this architecture `amd64`: did you mean `linux/amd64`?"),
        ("linux/aarch64", "OCI calls this architecture `arm64`: did you mean `linux/arm64`?"),
        ("linux/armv7l", "OCI calls this architecture `arm`: did you mean `linux/arm/v7`?"),
    ],
)
def test_uname_architectures_get_the_oci_spelling(written: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        load({"platforms": ["linux/amd64", written]})
    assert f"has an invalid platform {written!r}" in str(info.value)
    assert str(info.value).endswith(hint)
    load({"platforms": ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"]})  # OCI names pass
