"""`//user:password@host` (a scheme-relative login) is never echoed (issue 21 item 10)."""

from __future__ import annotations

import pytest

from hatch_krust import cli, errors
from hatch_krust.config import load_config

SECRET = "s3cr3tpw"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"inspect //u:{SECRET}@127.0.0.1:5000/x", "inspect //***@127.0.0.1:5000/x"),
        (f"KRUST_REPO=//alice:{SECRET}@h.io/x", "KRUST_REPO=//***@h.io/x"),
        (f"Invalid reference '//alice:{SECRET}@h.io/x'", "Invalid reference '//***@h.io/x'"),
        (f"(//alice:{SECRET}@h.io/x)", "(//***@h.io/x)"),
        ("//alice@h.io/x", "//***@h.io/x"),
    ],
)
def test_a_scheme_relative_login_is_redacted(text: str, expected: str) -> None:
    assert errors.redact_userinfo(text) == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["inspect", f"//u:{SECRET}@127.0.0.1:5000/x"],
        ["inspect", f"///u:{SECRET}@127.0.0.1:5000/x"],
        ["copy", f"//u:{SECRET}@127.0.0.1:5000/x:1", "oci:/nonexistent/x"],
        ["copy", "oci:/nonexistent/x", f"//u:{SECRET}@127.0.0.1:5000/x:1"],
        ["merge", f"//u:{SECRET}@127.0.0.1:5000/x:1", "oci:/nonexistent/x"],
    ],
)
def test_the_cli_never_echoes_it(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(argv)
    out, err = capsys.readouterr()
    assert status != 0
    assert "error" in err
    assert SECRET not in out + err


@pytest.mark.parametrize("variable", ["KRUST_REPO", "KRUST_REPOSITORY"])
def test_the_configuration_never_echoes_it(variable: str) -> None:
    env = {variable: f"//alice:{SECRET}@registry.example/team"}
    with pytest.raises(errors.ConfigError) as caught:
        load_config({}, env=env, user_defaults={})
    assert SECRET not in str(caught.value)
    assert variable in str(caught.value)
