"""The layered format's parts, on real files, without images, tools or root."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hatch_krust.errors import ImageError
from hatch_krust.layered import LayerPlan, build_layer, host_interpreter
from hatch_krust.layered.elf import is_elf, read_dynamic, rewrite_search_path
from hatch_krust.layered.libraries import DpkgDatabase, find_system_libraries
from hatch_krust.layered.packages import split_environment
from hatch_krust.oci.layer import bytes_entry, link_entry
from hatch_krust.python import probe_interpreter
from tests.freeze.conftest import DEBIAN_PYTHON, PYENV_PYTHON


@pytest.fixture(scope="module")
def pyenv_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the pyenv interpreter's binary: it has a RUNPATH naming the pyenv prefix."""
    source = Path(PYENV_PYTHON).resolve()
    assert read_dynamic(source).runpath, f"{source} should carry a RUNPATH (a pyenv build)"
    copy = tmp_path_factory.mktemp("elf") / "python"
    shutil.copyfile(source, copy)
    return copy


@pytest.mark.infra  # lays out this machine's pyenv interpreter
def test_runpath_is_rewritten_in_place(pyenv_binary: Path, tmp_path: Path):
    copy = tmp_path / "python"
    shutil.copyfile(pyenv_binary, copy)
    size = copy.stat().st_size
    assert rewrite_search_path(copy, lambda entry: "/opt/python/lib")
    assert read_dynamic(copy).runpath == ("/opt/python/lib",)
    assert copy.stat().st_size == size
    assert not rewrite_search_path(copy, lambda entry: entry), "nothing to change"


@pytest.mark.infra  # lays out this machine's pyenv interpreter
def test_a_longer_runpath_is_refused(pyenv_binary: Path, tmp_path: Path):
    copy = tmp_path / "python"
    shutil.copyfile(pyenv_binary, copy)
    with pytest.raises(ImageError, match="longer than"):
        rewrite_search_path(copy, lambda entry: entry + "/" + "x" * 300)


@pytest.mark.infra  # lays out this machine's pyenv interpreter
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


@pytest.mark.infra  # lays out this machine's pyenv interpreter
def test_the_copied_interpreter_looks_for_libpython_in_the_image(tmp_path: Path):
    interpreter = host_interpreter(probe_interpreter(PYENV_PYTHON, os.environ))
    entries = {e.path: e for e in interpreter.entries(tmp_path)}
    binary = entries[interpreter.info.image_executable].source
    assert binary is not None
    assert read_dynamic(binary).runpath == ("/opt/python/lib",)


@pytest.mark.infra  # lays out this machine's pyenv interpreter
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


def test_dpkg_owner_and_version_follow_merged_usr(tmp_path: Path):
    info = tmp_path / "var/lib/dpkg/info"
    info.mkdir(parents=True)
    (info / "libfoo1:amd64.list").write_text("/.\n/lib/x86_64-linux-gnu/libfoo.so.1\n")
    (tmp_path / "var/lib/dpkg/status").write_text(
        "Package: libfoo1\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.2-3\n\n"
        "Package: gone\nStatus: deinstall ok config-files\nVersion: 9\n"
    )
    library = tmp_path / "usr/lib/x86_64-linux-gnu/libfoo.so.1"
    library.parent.mkdir(parents=True)
    library.write_bytes(b"")
    found = DpkgDatabase(tmp_path).library("/usr/lib/x86_64-linux-gnu/libfoo.so.1", library)
    assert (found.package, found.version) == ("libfoo1:amd64", "1.2-3")
    assert DpkgDatabase(tmp_path).owner(tmp_path / "var/lib/dpkg/status") == ""


def _dist(site: Path, name: str, files: dict[str, str], scripts: str = "") -> None:
    dist_info = site / f"{name}-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    if scripts:
        (dist_info / "entry_points.txt").write_text(f"[console_scripts]\n{scripts}\n")
    rows = [f"{name}-1.0.dist-info/METADATA,,", f"{name}-1.0.dist-info/RECORD,,"]
    for relative, text in files.items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        rows.append(f"{relative},,")
    (dist_info / "RECORD").write_text("\n".join(rows) + "\n")


def test_the_environment_splits_by_record(tmp_path: Path):
    venv = tmp_path / "venv"
    site = venv / "lib/python3.11/site-packages"
    _dist(
        site, "dep", {"dep/__init__.py": "X = 1\n", "dep/__pycache__/__init__.cpython-311.pyc": ""}
    )
    _dist(
        site,
        "my_app",
        {
            "app/__init__.py": "",
            "app/data.txt": "data",
            "../../../bin/my-app": "#!/venv/bin/python\n",
        },
        scripts="my-app = app.cli:main",
    )
    (site / "_virtualenv.py").write_text("# uv's, not the project's\n")
    env = split_environment(venv, "My-App")
    third = {e.path for e in env.third_party}
    own = {e.path: e for e in env.project}
    assert "/app/lib/python3.11/site-packages/dep/__init__.py" in third
    assert not any("__pycache__" in p or "_virtualenv" in p for p in third | set(own))
    assert "/app/lib/python3.11/site-packages/app/data.txt" in own
    script = own["/app/bin/my-app"].data or b""
    assert script.startswith(b"#!/app/bin/python\n")
    assert b"from app.cli import main" in script
    assert env.scripts == {"my-app": "/app/bin/my-app"}
    assert [d.name for d in env.distributions] == ["dep", "my_app"], "the project last"


def test_an_environment_without_the_project_is_refused(tmp_path: Path):
    _dist(tmp_path / "venv/lib/python3.11/site-packages", "dep", {"dep.py": ""})
    with pytest.raises(ImageError, match="`other` is not installed"):
        split_environment(tmp_path / "venv", "other")


def test_a_layer_key_follows_its_content(tmp_path: Path):
    plan = LayerPlan("project", (bytes_entry("/app/a.py", b"A = 1\n"), link_entry("/app/b", "a")))
    same = LayerPlan("project", (link_entry("/app/b", "a"), bytes_entry("/app/a.py", b"A = 1\n")))
    edited = LayerPlan("project", (bytes_entry("/app/a.py", b"A = 2\n"),))
    assert plan.key(0) == same.key(0), "order does not matter"
    assert plan.key(0) != edited.key(0)
    assert plan.key(0) != plan.key(1), "the epoch is in the bytes"


def test_a_cached_layer_is_reused_unless_it_was_damaged(tmp_path: Path):
    plan = LayerPlan(
        "project",
        (bytes_entry("/app/m/__init__.py", b"A = 1\n"),),
        ("/app",),
        Path(sys.executable),
        "x",
    )
    first = build_layer(plan, tmp_path)
    assert not first.cached
    again = build_layer(plan, tmp_path)
    assert (again.cached, again.layer.digest) == (True, first.layer.digest)
    listing = subprocess.run(
        ["tar", "tzf", str(first.layer.path)], capture_output=True, text=True, check=True
    ).stdout
    assert "app/m/__pycache__/__init__.cpython" in listing, "bytecode is compiled in"
    first.layer.path.write_bytes(b"damaged")
    rebuilt = build_layer(plan, tmp_path)
    assert (rebuilt.cached, rebuilt.layer.digest) == (False, first.layer.digest)


def test_a_distribution_interpreter_is_named_by_its_package():
    binary = Path(DEBIAN_PYTHON).resolve()
    assert DpkgDatabase().owner(binary).startswith("python3"), f"{binary} comes from a .deb"


@pytest.mark.infra  # lays out this machine's pyenv interpreter
def test_a_library_nothing_provides_is_reported_with_the_file_that_needs_it(tmp_path: Path):
    source = tmp_path / "f.c"
    source.write_text("int f(void) { return 0; }\n")
    stub = tmp_path / "libkrustgone.so"
    user = tmp_path / "user.so"
    subprocess.run(["gcc", "-shared", "-o", str(stub), str(source)], check=True)
    link = ["gcc", "-shared", "-o", str(user), str(source), "-Wl,--no-as-needed"]
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
