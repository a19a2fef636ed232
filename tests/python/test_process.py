from __future__ import annotations

import os

import pytest

from hatch_krust.python.process import ToolFailed, installer_env, run_tool, stage_failed, tail

ENV = {"PATH": os.environ.get("PATH", os.defpath)}


def test_output_is_captured_quietly(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_tool(["sh", "-c", "echo out; echo err >&2"], env=ENV) == "out\nerr\n"
    assert capsys.readouterr() == ("", "")


def test_verbose_streams_to_stderr_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_tool(["sh", "-c", "echo out; echo err >&2"], env=ENV, verbose=True) == "out\nerr\n"
    assert capsys.readouterr() == ("", "out\nerr\n")


def test_the_tool_gets_exactly_the_environment_given() -> None:
    script = 'echo "$KRUST_TEST_ONLY-${HOME:-unset}"'
    printed = run_tool(["sh", "-c", script], env={**ENV, "KRUST_TEST_ONLY": "given"})
    assert printed == "given-unset\n"


def test_installer_env_drops_other_pythons_paths() -> None:
    given = {"PATH": "/bin", "PYTHONPATH": "/x", "PYTHONHOME": "/y", "VIRTUAL_ENV": "/v"}
    assert installer_env(given) == {"PATH": "/bin"}
    assert given["PYTHONPATH"] == "/x"  # the caller's mapping is left alone


def test_failure_keeps_the_output() -> None:
    with pytest.raises(ToolFailed) as caught:
        run_tool(["sh", "-c", "echo partial; exit 4"], env=ENV)
    assert (caught.value.returncode, caught.value.output) == (4, "partial\n")


def test_missing_tool() -> None:
    with pytest.raises(ToolFailed) as caught:
        run_tool(["/nonexistent/tool"], env=ENV)
    assert caught.value.returncode == 127


def test_stage_error_shows_the_tail() -> None:
    output = "".join(f"line {i}\n" for i in range(100))
    error = stage_failed("running PyInstaller 6.22.3", ToolFailed(["x"], 2, output), "Try this.")
    message = str(error)
    assert message.startswith("running PyInstaller 6.22.3 failed (exit status 2). Try this.\n")
    assert message.endswith("    line 98\n    line 99")
    assert "line 74" not in message
    assert error.output == output


def test_tail_skips_blank_lines() -> None:
    assert tail("a\n\n  \nb\n", 5) == "    a\n    b"


def test_tail_cuts_a_tools_traceback_to_its_error() -> None:
    output = (
        "INFO: building\n"
        "Traceback (most recent call last):\n"
        '  File "/env/PyInstaller/__main__.py", line 9, in run\n'
        "    build()\n"
        "           ^^^^\n"
        "SystemExit: ERROR: Python library not found: libpython3.11.so.1.0\n"
        "after\n"
    )
    assert tail(output) == (
        "    INFO: building\n"
        "    SystemExit: ERROR: Python library not found: libpython3.11.so.1.0\n"
        "    after"
    )
