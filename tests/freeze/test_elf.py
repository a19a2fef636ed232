from __future__ import annotations

import platform
import subprocess
from pathlib import Path

import pytest

from hatch_krust.errors import FreezeError
from hatch_krust.freeze.elf import expected_machine, inspect_elf, verify_static
from tests.infra.tools import require_tool


@pytest.fixture(scope="module")
def static_hello(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `gcc -static` hello world: the reference for what "static" means."""
    require_tool("gcc")
    out = tmp_path_factory.mktemp("hello")
    (out / "hello.c").write_text('#include <stdio.h>\nint main(void){puts("hi");return 0;}\n')
    subprocess.run(["gcc", "-static", "-o", str(out / "hello"), str(out / "hello.c")], check=True)
    return out / "hello"


@pytest.mark.infra  # gcc -static
def test_static_executable_passes(static_hello: Path) -> None:
    info = verify_static(static_hello)
    assert (info.interpreter, info.needed, info.is_static) == (None, (), True)


def test_dynamic_executable_fails() -> None:
    with pytest.raises(FreezeError) as caught:
        verify_static(Path("/bin/ls"))
    message = str(caught.value)
    assert message.startswith("/bin/ls is not static: it needs ")
    assert "libc.so.6" in message
    assert "the program interpreter /lib" in message


def test_dynamic_executable_facts() -> None:
    info = inspect_elf(Path("/bin/ls"))
    assert "libc.so.6" in info.needed
    assert info.interpreter is not None
    assert not info.is_static


def test_wrong_machine() -> None:
    """The machine is checked before static-ness, so any ELF of this host will do."""
    with pytest.raises(FreezeError, match=r"is an ELF for EM_\w+, not for EM_SPARC as expected"):
        verify_static(Path("/bin/ls"), machine="EM_SPARC")


def test_not_an_elf_file(tmp_path: Path) -> None:
    path = tmp_path / "script"
    path.write_text("#!/bin/sh\necho hi\n")
    with pytest.raises(FreezeError, match="is not a readable ELF executable"):
        verify_static(path)


def test_expected_machine_here() -> None:
    names = {"x86_64": "EM_X86_64", "aarch64": "EM_AARCH64"}
    assert expected_machine() == names[platform.machine()]
