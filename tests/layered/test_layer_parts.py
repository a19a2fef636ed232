"""The layered format's parts, on real files, without images, tools or root (the parts
that lay out this machine's own interpreter are in test_host_interpreter.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hatch_krust.errors import ImageError
from hatch_krust.layered import LayerPlan, build_layer
from hatch_krust.layered.libraries import DpkgDatabase
from hatch_krust.layered.packages import split_environment
from hatch_krust.oci.layer import bytes_entry, link_entry
from tests.freeze.conftest import DEBIAN_PYTHON


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
