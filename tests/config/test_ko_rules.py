"""Issue 12's configuration rules, pure: ko's spellings, `annotations`, the whole-name
`KRUST_REPOSITORY`, the wheel hook's push rule, the `platforms` error naming its origin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hatch_krust.building.image import image_options
from hatch_krust.building.outputs import DOCUMENT_SUFFIXES, remove_stale_documents
from hatch_krust.config import KrustConfig, load_config
from hatch_krust.errors import ConfigError
from hatch_krust.formats.static import check_static_platforms
from hatch_krust.oci.platform import Platform
from hatch_krust.plugin.wheel_hook import HOOK_PREFIX, hook_config, hook_push

PREFIX = "tool.hatch.build.targets.krust"
HOST = Platform.host()


def load(table: dict[str, object], env: dict[str, str] | None = None) -> KrustConfig:
    return load_config(table, env=env or {}, user_defaults={})


# -- ko's spellings ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["none", "None", False])
def test_sbom_none_is_false(value: object) -> None:
    assert load({"sbom": value}).sbom is None
    assert load({"sbom": "spdx"}).sbom == "spdx"


@pytest.mark.parametrize("value", ["none", "false", "0"])
def test_sbom_none_from_the_environment(value: str) -> None:
    assert load({}, {"KRUST_SBOM": value}).sbom is None


def test_an_unknown_sbom_names_none_among_the_choices() -> None:
    with pytest.raises(ConfigError) as info:
        load({"sbom": "syft"})
    assert str(info.value) == (
        f"Field `{PREFIX}.sbom` must be \"cyclonedx\", \"spdx\", \"none\" or false, not 'syft'"
    )


def test_platforms_all_says_what_this_host_builds_and_how_merge_does_the_rest() -> None:
    with pytest.raises(ConfigError) as info:
        check_static_platforms(load({"format": "static", "platforms": ["all"]}))
    message = str(info.value)
    assert message.startswith(f"Field `{PREFIX}.platforms` asks for `all` platforms")
    assert f"this host can build only {HOST}" in message
    assert "`hatch-krust merge DST SRC...`" in message
    with pytest.raises(ConfigError, match=r"^Environment variable `KRUST_PLATFORMS` asks for"):
        check_static_platforms(load({"format": "static"}, {"KRUST_PLATFORMS": "all"}))


@pytest.mark.parametrize(("key", "meant"), [("baseImage", "base-image"), ("base_image",
    "base-image"), ("insecureRegistries", "insecure-registries"), ("SBOM", "sbom")])
def test_camel_case_keys_get_the_kebab_case_hint(key: str, meant: str) -> None:
    with pytest.raises(ConfigError) as info:
        load({key: "x"})
    assert str(info.value) == (
        f"Field `{PREFIX}.{key}` is not a hatch-krust option; did you mean `{meant}`?"
    )



@pytest.mark.parametrize(("key", "meant"), [("fromat", "format"), ("plattforms", "platforms"),
    ("base-imge", "base-image"), ("tag", "tags"), ("port", "ports"), ("envs", "env"),
    ("dependancies", "dependencies"), ("hidden-import", "hidden-imports"),
    ("repo", "repository"), ("registry", "repository"), ("cmd", "args"),
    ("entrypoint", "script"), ("expose", "ports")])
def test_misspelt_and_other_tools_keys_get_a_hint(key: str, meant: str) -> None:
    """A transposed letter, a missing `s`, Docker's and ko's words: each named the
    documentation only ("see docs/configuration.md"), though the key is one edit away."""
    with pytest.raises(ConfigError) as info:
        load({key: "x"})
    assert str(info.value) == (
        f"Field `{PREFIX}.{key}` is not a hatch-krust option; did you mean `{meant}`?"
    )


def test_a_key_like_nothing_still_points_at_the_documentation() -> None:
    with pytest.raises(ConfigError) as info:
        load({"colour": "x"})
    assert str(info.value) == (
        f"Field `{PREFIX}.colour` is not a hatch-krust option; see docs/configuration.md"
    )

# -- annotations ---------------------------------------------------------------------------


def test_annotations_from_the_table_and_the_environment() -> None:
    table = {"annotations": {"com.example.team": "web", "org.opencontainers.image.vendor": "A"}}
    assert load(table).annotations == (
        ("com.example.team", "web"),
        ("org.opencontainers.image.vendor", "A"),
    )
    env = {"KRUST_ANNOTATIONS": "b=2, a=x=y"}
    config = load(table, env)
    assert config.annotations == (("a", "x=y"), ("b", "2"))
    assert config.origin("annotations") == "Environment variable `KRUST_ANNOTATIONS`"


@pytest.mark.parametrize(
    ("table", "env", "message"),
    [
        ({"annotations": {"a": 1}}, {}, f"Field `{PREFIX}.annotations` must be a table of "
         "strings; `a` is an integer"),
        ({"annotations": {" ": "x"}}, {}, f"Field `{PREFIX}.annotations` has an empty "
         "annotation key"),
        ({}, {"KRUST_ANNOTATIONS": "novalue"}, "Environment variable `KRUST_ANNOTATIONS` must "
         "be comma-separated KEY=VALUE pairs (got 'novalue')"),
    ],
)
def test_bad_annotations(table: dict[str, object], env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(table, env)
    assert str(info.value) == message


def test_given_annotations_join_ours_and_a_given_key_wins() -> None:
    config = load({"annotations": {"org.opencontainers.image.title": "Mine", "x.y": "z"}})
    ours = {"org.opencontainers.image.title": "app", "org.opencontainers.image.version": "1"}
    options = image_options(config, "app", HOST, 0, ours, "", "")
    assert dict(options.annotations) == {
        "org.opencontainers.image.title": "Mine",
        "org.opencontainers.image.version": "1",
        "x.y": "z",
    }
    assert ours["org.opencontainers.image.title"] == "app"  # the caller's dict untouched


# -- the repository from the environment ---------------------------------------------------


def test_krust_repository_is_the_whole_name() -> None:
    config = load({"repository": "ghcr.io/a/b"}, {"KRUST_REPOSITORY": "ghcr.io/acme/tool/"})
    assert config.repository == "ghcr.io/acme/tool"
    assert config.origin("repository") == "Environment variable `KRUST_REPOSITORY`"
    assert load({}, {"KRUST_REPO": "ghcr.io/acme"}).repository == "ghcr.io/acme/{name}"


def test_krust_repo_and_krust_repository_together_are_refused() -> None:
    with pytest.raises(ConfigError) as info:
        load({}, {"KRUST_REPO": "ghcr.io/acme", "KRUST_REPOSITORY": "ghcr.io/acme/tool"})
    assert str(info.value) == (
        "Environment variables `KRUST_REPO` (a prefix: the project name is appended) and "
        "`KRUST_REPOSITORY` (the whole name) are both set; set only one"
    )


def test_krust_repository_is_checked_like_the_option() -> None:
    with pytest.raises(ConfigError, match=r"^Environment variable `KRUST_REPOSITORY` is not a"):
        load({}, {"KRUST_REPOSITORY": "GHCR.io/Acme"})


# -- the wheel hook's push -----------------------------------------------------------------


def hook(table: dict[str, object], target: dict[str, object], env: dict[str, str]) -> tuple[
    KrustConfig, str
]:
    return hook_push(hook_config(table, target, {"XDG_CONFIG_HOME": "/nonexistent", **env}))


def test_a_repository_alone_does_not_push_from_the_hook() -> None:
    for table, target, env in [
        ({}, {}, {"KRUST_REPO": "ghcr.io/acme"}),
        ({"repository": "ghcr.io/acme/app"}, {}, {}),
        ({}, {"repository": "ghcr.io/acme/app", "push": True}, {}),  # the target's push
    ]:
        config, note = hook(table, target, env)
        assert config.push is False, (table, target, env)
        assert note.startswith("not pushed: a repository is known (")
        assert f"pushes only with `push = true` in `[{HOOK_PREFIX}]` or KRUST_PUSH=1" in note


def test_the_hook_pushes_when_asked_in_its_table_or_by_krust_push() -> None:
    config, note = hook({"push": True}, {"repository": "ghcr.io/acme/app"}, {})
    assert config.push is True
    assert note == f"pushing: Field `{HOOK_PREFIX}.push` asks for it"
    config, note = hook({}, {}, {"KRUST_REPO": "ghcr.io/acme", "KRUST_PUSH": "1"})
    assert config.push is True
    assert note == "pushing: Environment variable `KRUST_PUSH` asks for it"


def test_the_hook_without_a_repository_says_nothing_of_one() -> None:
    config, note = hook({}, {}, {})
    assert config.push is False
    assert note == "not pushed: no push asked for"
    config, note = hook({}, {}, {"KRUST_REPO": "ghcr.io/acme", "KRUST_PUSH": "0"})
    assert (config.push, note) == (False, "not pushed: no push asked for")


# -- the platforms check after the config --------------------------------------------------


def test_a_platform_this_host_cannot_build_names_the_option() -> None:
    other = "linux/s390x" if HOST.architecture != "s390x" else "linux/amd64"
    config = load({}, {"KRUST_PLATFORMS": other})
    with pytest.raises(ConfigError) as info:
        check_static_platforms(config)
    assert str(info.value).startswith(
        f"Environment variable `KRUST_PLATFORMS` asks for {other}, but this host can only "
        f"build {HOST}"
    )
    assert check_static_platforms(load({}, {"KRUST_PLATFORMS": str(HOST)})) == HOST


# -- outputs of a build are exactly that build's -------------------------------------------


def test_stale_documents_of_the_same_stem_are_removed(tmp_path: Path) -> None:
    for name in ("app-1.0.cdx.json", "app-1.0.spdx.json", "app-1.0.provenance.json",
                 "app-1.0.1.cdx.json", "other-1.0.cdx.json", "app-1.0.oci.tar"):
        (tmp_path / name).write_text("{}")
    written = (tmp_path / "app-1.0.spdx.json", tmp_path / "app-1.0.provenance.json")
    remove_stale_documents(tmp_path, "app-1.0", written)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "app-1.0.1.cdx.json",  # another version's: not this stem's
        "app-1.0.oci.tar",
        "app-1.0.provenance.json",
        "app-1.0.spdx.json",
        "other-1.0.cdx.json",
    ]


def test_every_document_a_build_writes_is_known_to_the_stale_check() -> None:
    source = Path(__file__).resolve().parents[2] / "hatch_krust" / "attest" / "__init__.py"
    suffixes = set(re.findall(r'f"\{stem\}(\.[a-z.]+)"', source.read_text()))
    assert suffixes, "attest/__init__.py names no documents: the pattern here is stale"
    assert suffixes <= set(DOCUMENT_SUFFIXES)


@pytest.mark.parametrize(("value", "meant"), [("bundeld", "bundled"), ("Bundled", "bundled"),
    ("bundle", "bundled"), ("bases", "base"), ("BASE", "base")])
def test_a_misspelt_python_keyword_is_named_not_looked_up_on_path(value: str, meant: str) -> None:
    """It was taken for a command: "The Python interpreter `bundeld` to build with was not
    found … Give a path to a Python 3.9+ executable", after the wheel was built."""
    with pytest.raises(ConfigError) as info:
        load({"python": value})
    assert str(info.value) == (
        f"Field `{PREFIX}.python` is {value!r}, which is neither an interpreter nor a keyword; "
        f'did you mean "{meant}"?'
    )
    with pytest.raises(ConfigError, match=r"^Environment variable `KRUST_PYTHON` is "):
        load({}, {"KRUST_PYTHON": value})


@pytest.mark.parametrize("value", ["base", "bundled", "python3.12", "/usr/bin/python3", "pypy3"])
def test_interpreters_and_keywords_pass(value: str) -> None:
    assert load({"python": value}).python == value
