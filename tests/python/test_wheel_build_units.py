"""Pure parts of the wheel build: what is missing here, which hook an output blames."""

from __future__ import annotations

from hatch_krust.python.wheel_build import _failed_hook, _hook_error, missing_requirements


def test_missing_requirements_checks_versions_and_markers() -> None:
    assert missing_requirements(["packaging>=1", 'nothing-here; python_version < "3"']) == []
    assert missing_requirements(["packaging>=999"]) == ["packaging>=999"]
    assert missing_requirements(["no-such-dist-for-krust"]) == ["no-such-dist-for-krust"]
    assert missing_requirements(["packaging @ https://example.invalid/p.whl"]) == []
    assert missing_requirements(["no-such-dist @ https://example.invalid/n.whl"]) != []


PYPROJECT = {"tool": {"hatch": {"build": {"targets": {"wheel": {"hooks": {"mypyc": {}}}}}}}}


def test_the_failed_hook_is_found_in_the_output() -> None:
    assert _failed_hook("UnknownPluginError: Unknown build hook: mypyc", {}) == "mypyc"
    custom = {"tool": {"hatch": {"build": {"hooks": {"custom": {}}}}}}
    assert _failed_hook('File "/p/hatch_build.py", line 3', custom) == "custom"
    assert _failed_hook("ModuleNotFoundError: No module named 'hatch_mypyc'", PYPROJECT) == (
        "mypyc"
    )
    two = {"tool": {"hatch": {"build": {"hooks": {"a": {}, "b": {}}}}}}
    assert _failed_hook("something else", two) == "`a` or `b`"
    assert _failed_hook("something else", {}) == ""


def test_uv_generic_lines_are_left_out() -> None:
    output = (
        "Building wheel...\n"
        "  File \"/p/hatch_build.py\", line 4, in initialize\n"
        "    raise OSError('no compiler')\n"
        "OSError: no compiler\n"
        "error: Failed to build `/p`\n"
        "  cause: The build backend returned an error\n"
        "  cause: Call to `hatchling.build.build_wheel` failed (exit status: 1)\n"
    )
    text = str(_hook_error("custom", output, "uv build"))
    assert "OSError: no compiler" in text
    assert "backend returned" not in text
    assert "failed in the build hook `custom`" in text
