"""Which program the image runs when the wheel ships a native one (.data/scripts)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from hatch_krust.config import load_config
from hatch_krust.errors import ConfigError
from hatch_krust.formats.programs import choose_program, installed_program, native_programs

ELF = Path("/bin/true").read_bytes()[:64]


def _wheel(tmp_path: Path) -> Path:
    wheel = tmp_path / "tool-1.0-py3-none-linux_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("tool-1.0.data/scripts/tool", ELF)
        archive.writestr("tool-1.0.data/scripts/helper.sh", "#!/bin/sh\n")
        archive.writestr("tool/__init__.py", "")
    return wheel


def _config(**table: object):  # type: ignore[no-untyped-def]
    return load_config(table, env={}, user_defaults={})


def test_native_programs_are_the_elf_files_of_data_scripts(tmp_path: Path) -> None:
    assert native_programs(_wheel(tmp_path)) == ("tool",)


def test_layered_runs_a_native_program_by_name(tmp_path: Path) -> None:
    config = _config(script="tool", format="layered")
    assert choose_program({}, "tool", config, _wheel(tmp_path), static=False) == ("tool", "")


def test_static_refuses_a_native_program_and_points_to_layered(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        choose_program({}, "tool", _config(script="tool"), _wheel(tmp_path), static=True)
    message = str(caught.value)
    assert "`tool`, a native program" in message and 'format = "layered"' in message
    assert "KRUST_FORMAT=layered" in message


@pytest.mark.parametrize("image_format", ["static", "layered"])
def test_no_scripts_but_a_native_program_says_how_to_select_it(
    tmp_path: Path, image_format: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        static = image_format == "static"
        choose_program({}, "tool", _config(format=image_format), _wheel(tmp_path), static=static)
    message = str(caught.value)
    assert "native program `tool`" in message and 'script = "tool"' in message
    assert ('format = "layered"' in message) == (image_format == "static")


def test_console_scripts_are_chosen_as_before(tmp_path: Path) -> None:
    config = _config()
    assert choose_program({"t": "tool:main"}, "tool", config, _wheel(tmp_path), static=True) == (
        "t",
        "tool:main",
    )


def test_layered_leaves_another_name_to_the_installed_environment(tmp_path: Path) -> None:
    """A dependency's native program (a project depending on ruff) is known only once the
    dependencies are installed: layered takes the name, static refuses it at once."""
    config = _config(script="ruff", format="layered")
    said: list[str] = []
    chosen = choose_program(
        {"t": "tool:main"}, "tool", config, _wheel(tmp_path), static=False, say=said.append
    )
    assert chosen == ("ruff", "")
    assert said == [  # before the install: a typo is only refused after it
        "Field `tool.hatch.build.targets.krust.script` names `ruff`, which is not one of the "
        "project's console scripts nor a program of its wheel: looking for it among the "
        "programs its dependencies install"
    ]
    with pytest.raises(ConfigError, match=r"`ruff`, which is not in `\[project.scripts\]`"):
        choose_program({"t": "tool:main"}, "tool", config, _wheel(tmp_path), static=True)


def test_the_installed_environment_must_have_that_native_program() -> None:
    where = "Field `tool.hatch.build.targets.krust.script`"
    installed = {"t": b"#!/a", "ruff": ELF[:4], "helper.sh": b"#!/b"}
    installed_program("ruff", {"t": "tool:main"}, installed, where)  # a dependency's
    installed_program("t", {"t": "tool:main"}, installed, where)  # a console script
    for name in ("helper.sh", "rufff"):  # a script that is not native; a typo
        with pytest.raises(ConfigError) as caught:
            installed_program(name, {"t": "tool:main"}, installed, where)
        message = str(caught.value)
        assert f"{where} names `{name}`, which is not in `[project.scripts]`" in message
        assert "Available scripts: `t`; native programs: `ruff`." in message


def test_the_pid1_launcher_runs_a_native_program_in_place() -> None:
    """`python pid1.py /app/bin/tool ARGS` replaces itself with the native program."""
    import subprocess
    import sys

    import hatch_krust

    launcher = Path(hatch_krust.__file__).parent / "pid1.py"
    done = subprocess.run(
        [sys.executable, str(launcher), "/bin/echo", "from", "native"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "from native\n"), done.stderr
