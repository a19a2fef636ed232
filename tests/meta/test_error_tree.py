"""One error tree: every exception class hatch-krust defines derives from KrustError and is
drawn in errors.py's docstring, so callers can catch one class and read one map."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import hatch_krust
from hatch_krust import errors

# Scripts run in another interpreter by the freezing stage, not modules of this one.
_NOT_MODULES = ("hatch_krust.freeze._runners.",)


def _exception_classes() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(hatch_krust.__path__, "hatch_krust."):
        if info.name.startswith(_NOT_MODULES):
            continue
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.startswith("hatch_krust"):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


def test_the_walk_finds_the_known_errors() -> None:
    names = {cls.__name__ for cls in _exception_classes()}
    assert {"KrustError", "TransportFailure", "ToolFailed", "BuildFailed"} <= names


def test_every_exception_derives_from_krust_error() -> None:
    stray = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _exception_classes()
        if not issubclass(cls, errors.KrustError)
    ]
    assert stray == []


def test_every_exception_is_drawn_in_the_tree() -> None:
    tree = errors.__doc__ or ""
    missing = [cls.__name__ for cls in _exception_classes() if f" {cls.__name__} " not in tree
               and not any(line.strip().startswith(cls.__name__) for line in tree.splitlines())]
    assert missing == []


def test_every_exception_lives_in_errors() -> None:
    elsewhere = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _exception_classes()
        if cls.__module__ != "hatch_krust.errors"
    ]
    assert elsewhere == []


SECRET = "s3cr3tpw"


def test_redact_userinfo_hides_every_login_form() -> None:
    digest = "sha256:" + "a" * 64
    cases = {
        f"Invalid image reference 'alice:{SECRET}@host/repo:tag'":
            "Invalid image reference '***@host/repo:tag'",
        f"GET https://user:{SECRET}@h.io/v2/": "GET https://***@h.io/v2/",
        f"docker://user:{SECRET}@host:5000/repo": "docker://***@host:5000/repo",
        f"KRUST_REPO=user:{SECRET}@host/x is bad": "KRUST_REPO=***@host/x is bad",
        f'repository = "u:{SECRET}@h/r"': 'repository = "***@h/r"',
        f"alpine@{digest} and ghcr.io/a/b@{digest}": f"alpine@{digest} and ghcr.io/a/b@{digest}",
    }
    for text, expected in cases.items():
        assert errors.redact_userinfo(text) == expected


def test_every_krust_error_message_is_redacted() -> None:
    error = errors.ConfigError(f"`repository` = 'bob:{SECRET}@ghcr.io/acme/app' is invalid")
    assert SECRET not in str(error)
    assert SECRET not in repr(error)
    assert "ghcr.io/acme/app" in str(error)


def test_a_reference_with_a_login_says_how_to_log_in() -> None:
    import pytest

    from hatch_krust.oci.reference import parse_reference

    with pytest.raises(errors.InvalidReference, match="skopeo login") as caught:
        parse_reference(f"alice:{SECRET}@ghcr.io/acme/app:1")
    assert SECRET not in str(caught.value)
