"""`python = "base" | "bundled" | PATH` and `platforms` for the layered format: the checks
that need no base (config.py, formats/on_base.py, formats/static.py), messages verbatim
where they matter."""

from __future__ import annotations

import pytest

from hatch_krust.config import KrustConfig, load_config
from hatch_krust.errors import ConfigError
from hatch_krust.formats.on_base import check_layered_platforms, python_mode
from hatch_krust.formats.static import check_static_platforms
from hatch_krust.oci.descriptor import Platform
from tests.heard import Heard

PREFIX = "tool.hatch.build.targets.krust"
FOREIGN = "linux/arm64" if Platform.host().architecture != "arm64" else "linux/amd64"


def load(table: dict[str, object], env: dict[str, str] | None = None) -> KrustConfig:
    return load_config(table, env=env or {}, user_defaults={})


def test_python_unset_is_auto_and_set_is_kept() -> None:
    assert python_mode(load({"format": "layered"})) == "auto"
    assert python_mode(load({"format": "layered", "python": "base"})) == "base"
    assert python_mode(load({"format": "layered"}, {"KRUST_PYTHON": "bundled"})) == "bundled"
    path = "/usr/local/bin/python3.12"
    assert python_mode(load({"format": "layered", "python": path})) == path


@pytest.mark.parametrize("value", ["base", "bundled"])
def test_base_and_bundled_are_for_the_layered_format(value: str) -> None:
    config = load({"format": "static"}, {"KRUST_PYTHON": value})
    with pytest.raises(ConfigError) as caught:
        check_static_platforms(config)
    assert str(caught.value) == (
        f'Environment variable `KRUST_PYTHON` is "{value}", which only the layered format '
        'reads; set `format = "layered"`, or give the interpreter (path or command) to '
        "freeze with"
    )


def test_platforms_all_is_accepted_for_the_layered_format() -> None:
    config = load({"format": "layered", "platforms": ["all"]})
    assert config.platforms == ("all",)
    assert check_layered_platforms(config) == Platform.host()
    static = load({"format": "static", "platforms": ["all"]})
    with pytest.raises(ConfigError, match="asks for `all` platforms"):
        check_static_platforms(static)  # PyInstaller cannot


def test_layered_platforms_put_the_host_first_or_take_the_first() -> None:
    host = str(Platform.host())
    both = load({"format": "layered", "platforms": [FOREIGN, host]})
    assert check_layered_platforms(both) == Platform.host()
    foreign = load({"format": "layered", "platforms": [FOREIGN]})
    assert check_layered_platforms(foreign) == Platform.parse(FOREIGN)


def test_bundled_for_a_foreign_platform_is_refused_before_any_work() -> None:
    config = load({"format": "layered", "python": "bundled", "platforms": [FOREIGN]})
    with pytest.raises(ConfigError) as caught:
        check_layered_platforms(config)
    message = str(caught.value)
    assert message.startswith(f"Field `{PREFIX}.platforms` asks for {FOREIGN}")
    assert 'python = "base"' in message and "hatch-krust merge" in message
    all_of_them = load({"format": "layered", "python": "bundled", "platforms": ["all"]})
    with pytest.raises(ConfigError, match="asks for `all` platforms"):
        check_layered_platforms(all_of_them)


def test_a_bad_platform_is_still_refused_beside_all() -> None:
    with pytest.raises(ConfigError, match="invalid platform"):
        load({"format": "layered", "platforms": ["all", "linux/x86_64"]})


def test_no_interpreter_of_the_target_minor_is_a_warning_naming_the_cost() -> None:
    from hatch_krust.formats.on_base import Target, _compilers
    from hatch_krust.layered.base_python import BasePython

    python = BasePython("/usr/bin/python3.99", "3.99.1", "x86_64", "glibc", (2, 36))
    target = Target(Platform.host(), None, "sha256:" + "0" * 64, python)  # type: ignore[arg-type]
    heard = Heard()
    assert _compilers([target], heard, {"PATH": ""}) == {"3.99": None}  # type: ignore[arg-type]
    assert len(heard.lines) == 1
    assert heard.lines[0].startswith("Warning: no Python 3.99 on this machine")
    assert "every start compiles its imports" in heard.lines[0]
    assert "uv python install 3.99" in heard.lines[0]
