"""The layered format's interpreter and library parts on THIS machine's pyenv interpreter
and system libraries (gcc builds the stand-in libraries): infra tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hatch_krust.errors import ImageError
from hatch_krust.layered import host_interpreter
from hatch_krust.layered.elf import is_elf, read_dynamic, rewrite_search_path
from hatch_krust.layered.libraries import find_system_libraries
from hatch_krust.python import probe_interpreter
from tests.freeze.conftest import PYENV_PYTHON
from tests.infra.tools import require_tool

pytestmark = pytest.mark.infra  # lays out this machine's pyenv interpreter


@pytest.fixture(scope="module")
def pyenv_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the pyenv interpreter's binary: it has a RUNPATH naming the pyenv prefix."""
    source = Path(PYENV_PYTHON).resolve()
    assert read_dynamic(source).runpath, f"{source} should carry a RUNPATH (a pyenv build)"
    copy = tmp_path_factory.mktemp("elf") / "python"
    shutil.copyfile(source, copy)
    return copy


def test_runpath_is_rewritten_in_place(pyenv_binary: Path, tmp_path: Path):
    copy = tmp_path / "python"
    shutil.copyfile(pyenv_binary, copy)
    size = copy.stat().st_size
    assert rewrite_search_path(copy, lambda entry: "/opt/python/lib")
    assert read_dynamic(copy).runpath == ("/opt/python/lib",)
    assert copy.stat().st_size == size
    assert not rewrite_search_path(copy, lambda entry: entry), "nothing to change"


def test_a_longer_runpath_is_refused(pyenv_binary: Path, tmp_path: Path):
    copy = tmp_path / "python"
    shutil.copyfile(pyenv_binary, copy)
    with pytest.raises(ImageError, match="longer than"):
        rewrite_search_path(copy, lambda entry: entry + "/" + "x" * 300)


def test_the_interpreter_leaves_out_what_applications_do_not_need(tmp_path: Path):
    interpreter = host_interpreter(probe_interpreter(PYENV_PYTHON, os.environ))
    short = interpreter.info.short_version
    paths = {e.path for e in interpreter.entries(tmp_path)}
    stdlib = f"/opt/python/lib/python{short}"
    assert f"/opt/python/bin/python{short}" in paths
    assert f"{stdlib}/os.py" in paths
    assert f"{stdlib}/ensurepip/__init__.py" in paths, "python -m venv needs ensurepip"
    for left_out in ("test", "idlelib", "tkinter", "site-packages", "turtledemo"):
        assert not any(p.startswith(f"{stdlib}/{left_out}/") for p in paths), left_out
    assert not any("_tkinter" in p or "/__pycache__/" in p for p in paths)
    assert not any(p.startswith(f"{stdlib}/lib-dynload/nis.") for p in paths), "nis: Kerberos"
    assert not any(p.startswith(f"{stdlib}/config-") for p in paths)


def test_the_copied_interpreter_looks_for_libpython_in_the_image(tmp_path: Path):
    interpreter = host_interpreter(probe_interpreter(PYENV_PYTHON, os.environ))
    entries = {e.path: e for e in interpreter.entries(tmp_path)}
    binary = entries[interpreter.info.image_executable].source
    assert binary is not None
    assert read_dynamic(binary).runpath == ("/opt/python/lib",)


def test_system_libraries_are_the_hosts_and_never_the_images_own(tmp_path: Path):
    interpreter = host_interpreter(probe_interpreter(PYENV_PYTHON, os.environ))
    elves = [
        (e.path, e.source) for e in interpreter.entries(tmp_path) if e.source and is_elf(e.source)
    ]
    assert any(Path(p).name.startswith("libpython") for p, _ in elves)
    scan = find_system_libraries(elves)
    by_name = {Path(lib.image_path).name: lib for lib in scan.libraries}
    assert "libc.so.6" in by_name
    assert by_name["libc.so.6"].package.startswith("libc6")
    assert by_name["libc.so.6"].version
    assert "/lib64/ld-linux-x86-64.so.2" in {lib.image_path for lib in scan.libraries}
    assert not any(name.startswith("libpython") for name in by_name), "libpython is ours"
    assert scan.missing == ()


def test_a_library_nothing_provides_is_reported_with_the_file_that_needs_it(tmp_path: Path):
    gcc = require_tool("gcc")
    source = tmp_path / "f.c"
    source.write_text("int f(void) { return 0; }\n")
    stub = tmp_path / "libkrustgone.so"
    user = tmp_path / "user.so"
    subprocess.run([gcc, "-shared", "-o", str(stub), str(source)], check=True)
    link = [gcc, "-shared", "-o", str(user), str(source), "-Wl,--no-as-needed"]
    link += [f"-L{tmp_path}", "-lkrustgone"]
    subprocess.run(link, check=True)
    provided = find_system_libraries(
        [("/app/ext/user.so", user), ("/app/ext/libkrustgone.so", stub)]
    )
    assert provided.missing == ()
    assert not any("krustgone" in lib.image_path for lib in provided.libraries), "the image's own"
    stub.unlink()
    scan = find_system_libraries([("/app/ext/user.so", user)])
    assert scan.missing == ("/app/ext/user.so needs libkrustgone.so",)
    assert any(lib.image_path.endswith("/libc.so.6") for lib in scan.libraries)
