"""Installing for a base's Python (hatch_krust.layered.target_install), the hermetic parts:
the message for a missing wheel (from uv's real wording), the venv layout made from uv's
`--target` tree, the same-minor compiler lookup, and a plan without bytecode."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from hatch_krust.layered.base_python import BasePython
from hatch_krust.layered.on_base import plan_on_base
from hatch_krust.layered.target_install import _install_error, _move_scripts, find_compiler

ARM64 = BasePython("/usr/bin/python3.11", "3.11.2", "aarch64", "glibc", (2, 36))
AMD64 = BasePython("/usr/bin/python3.11", "3.11.2", "x86_64", "glibc", (2, 36))
# uv 0.13's words, as printed for `--only-binary :all:` and a platform without wheels
UV_NO_WHEEL = """error: No solution found when resolving dependencies
  cause: Because numpy==2.3.0 has no usable wheels and you require numpy==2.3.0, we can
  conclude that your requirements are unsatisfiable.

hint: Wheels are required for `numpy` because building from source is disabled for all
packages (i.e., with `--no-build`)
"""
# uv 0.13's words when the retry asks for a source distribution of a wheel-only package
UV_NO_SDIST = """error: No solution found when resolving dependencies
  cause: Because tbb==2021.13.1 has no source distribution and you require tbb==2021.13.1,
  we can conclude that your requirements are unsatisfiable.
"""


def test_no_wheel_names_the_package_the_platform_and_the_ways_out() -> None:
    message = str(_install_error(UV_NO_WHEEL, ARM64, "linux/arm64"))
    assert message.startswith("No wheel of `numpy` for linux/arm64 (Python 3.11, manylinux_2_36). ")
    assert "UV_INDEX" in message and "hatch-krust merge DST SRC..." in message
    assert "\n" not in message  # one message, not uv's resolver output


def test_no_wheel_nor_sdist_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    message = str(_install_error(UV_NO_SDIST, ARM64, "linux/arm64", ["tbb"]))
    assert message.startswith(
        "No wheel of `tbb` for linux/arm64 (Python 3.11, manylinux_2_36), and it has no "
        "source distribution. "
    )
    assert "hatch-krust merge" in message and "\n" not in message


def test_the_build_machines_own_platform_is_not_told_to_use_another_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On an amd64 machine, a missing amd64 wheel: no "machine of its architecture", no
    `merge`; the way out that builds it here is the bundled interpreter."""
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    message = str(_install_error(UV_NO_WHEEL, AMD64, "linux/amd64"))
    assert message.startswith("No wheel of `numpy` for linux/amd64 (Python 3.11, ")
    assert "architecture" not in message and "merge" not in message
    assert 'python = "bundled"' in message and "UV_FIND_LINKS" in message


def test_another_failure_quotes_the_installer() -> None:
    message = str(_install_error("error: network unreachable", ARM64, "linux/arm64"))
    assert message.startswith("Installing the project for linux/arm64 (Python 3.11, ")
    assert "network unreachable" in message


def test_scripts_move_to_bin_and_their_record_rows_follow(tmp_path: Path) -> None:
    site = tmp_path / "lib/python3.11/site-packages"
    (site / "bin").mkdir(parents=True)
    (site / "bin/tool").write_text("#!/somewhere/python\n")
    info = site / "tool-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text("tool/__init__.py,sha256=abc,0\nbin/tool,sha256=def,20\n")
    _move_scripts(site, tmp_path / "bin")
    assert (tmp_path / "bin/tool").is_file() and not (site / "bin").exists()
    rows = (info / "RECORD").read_text().splitlines()
    assert rows == ["tool/__init__.py,sha256=abc,0", "../../../bin/tool,sha256=def,20"]
    assert (site / rows[1].split(",")[0]).resolve() == (tmp_path / "bin/tool").resolve()


def test_a_compiler_of_the_same_minor_is_found_and_none_for_an_unknown_one() -> None:
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    found = find_compiler(minor, os.environ)
    assert found is not None and found.is_file()
    assert find_compiler("3.99", os.environ) is None


def test_without_a_compiler_the_plan_has_no_bytecode(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    site = venv / "lib/python3.11/site-packages"
    info = site / "demo-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "demo.py").write_text("print('hi')\n")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
    (info / "RECORD").write_text("demo.py,,\ndemo-1.0.dist-info/METADATA,,\n")
    plan = plan_on_base(ARM64, venv, "demo", None)
    assert all(layer.bytecode == () and layer.compiler is None for layer in plan.layers)
    with_compiler = plan_on_base(ARM64, venv, "demo", Path(sys.executable))
    assert all(layer.bytecode for layer in with_compiler.layers)
    paths = {entry.path: entry for entry in plan.layers[0].entries}
    assert paths["/app/bin/python"].link == "/usr/bin/python3.11"  # the base's interpreter
    assert b"home = /usr/bin\n" in (paths["/app/pyvenv.cfg"].data or b"")
    project = {
        e.path.removeprefix("/app/lib/python3.11/site-packages/") for e in plan.layers[1].entries
    }
    assert project == {"demo.py", "demo-1.0.dist-info/METADATA"}


def _pure_wheel(directory: Path) -> Path:
    """A pure-Python wheel no index has: found only where a uv.toml points."""
    import zipfile

    directory.mkdir(parents=True)
    wheel = directory / "krust_onlyhere-1.0-py3-none-any.whl"
    files = {
        "krust_onlyhere.py": "ANSWER = 42\n",
        "krust_onlyhere-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: krust-onlyhere\n"
        "Version: 1.0\n",
        "krust_onlyhere-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{name},,\n" for name in files) + "krust_onlyhere-1.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in {**files, "krust_onlyhere-1.0.dist-info/RECORD": record}.items():
            archive.writestr(name, text)
    return directory


def test_the_install_for_a_base_reads_the_users_uv_toml(tmp_path: Path) -> None:
    """A team's index lives in uv's configuration, as for the bundled venv's install: the
    install for another platform must read it (it ran with `--no-config`)."""
    from hatch_krust.layered.target_install import install_for

    wheels = _pure_wheel(tmp_path / "wheels")
    config = tmp_path / "config"
    (config / "uv").mkdir(parents=True)
    (config / "uv" / "uv.toml").write_text(f'no-index = true\nfind-links = ["{wheels}"]\n')
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(tmp_path / "home"),
           "XDG_CONFIG_HOME": str(config), "UV_CACHE_DIR": str(tmp_path / "uv-cache")}  # fmt: skip
    root = install_for(ARM64, "linux/arm64", ["krust-onlyhere==1.0"], tmp_path / "env", env)
    assert (root / "lib/python3.11/site-packages/krust_onlyhere.py").read_text() == "ANSWER = 42\n"
