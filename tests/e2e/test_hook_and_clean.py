"""The wheel build hook through a PEP 517 frontend, and `clean` removing only dist/krust."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import build_env, hatchling_build, write_project
from tests.e2e.test_image import PROBE_APP


@pytest.mark.slow
def test_python_m_build_wheel_gives_wheel_and_image(
    tmp_path: Path, plugin_dir: Path, cache_dir: Path
) -> None:
    project = write_project(
        tmp_path,
        name="hooked-app",
        version="1.0.0",
        scripts={"hooked-app": "hooked_app.app:main"},
        files={"hooked_app/app.py": PROBE_APP},
        requires=("hatchling", f"hatch-krust @ {plugin_dir.as_uri()}"),
    )
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text()
        + "\n[tool.hatch.build.targets.wheel.hooks.krust]\n"
        + 'format = "static"\nbase-image = "scratch"\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "wheelhouse")],
        cwd=project,
        env=build_env(cache_dir),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert [p.name for p in (tmp_path / "wheelhouse").iterdir()] == [
        "hooked_app-1.0.0-py3-none-any.whl"
    ]
    out = project / "dist" / "krust"  # under the project root, not the frontend's directory
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "hooked-app-1.0.0-linux-amd64",
        "hooked-app-1.0.0.build.json",
        "hooked-app-1.0.0.cdx.json",  # the SBOM (tests/attest)
        "hooked-app-1.0.0.hook.log",  # what the hook did: pip would show none of it
        "hooked-app-1.0.0.oci.tar",
        "hooked-app-1.0.0.provenance.json",
    ]
    record = json.loads((out / "hooked-app-1.0.0.build.json").read_text())
    inspected = subprocess.run(
        ["skopeo", "inspect", "--raw", f"oci-archive:{out / 'hooked-app-1.0.0.oci.tar'}"],
        capture_output=True,
        text=True,
        check=False,
    )
    # The archive lists the platform manifest itself (docs/image.md, "The archive").
    digest = "sha256:" + hashlib.sha256(inspected.stdout.encode()).hexdigest()
    assert digest == record["platforms"][0]["digest"]


def test_clean_removes_dist_krust_and_nothing_else(tmp_path: Path, cache_dir: Path) -> None:
    project = write_project(tmp_path, name="cleanme", scripts={"cleanme": "cleanme:main"})
    (project / "dist" / "krust").mkdir(parents=True)
    (project / "dist" / "krust" / "old-exe").write_text("x")
    (project / "dist" / "cleanme-0.1.0-py3-none-any.whl").write_text("keep me")
    result = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "krust", "--clean-only"],
        cwd=project,
        env=build_env(cache_dir),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert not (project / "dist" / "krust").exists()
    assert (project / "dist" / "cleanme-0.1.0-py3-none-any.whl").read_text() == "keep me"


@pytest.mark.slow
def test_binary_version_alone(tmp_path: Path, cache_dir: Path) -> None:
    """`-t krust:binary` writes only the executable (the image files belong to `image`)."""
    project = write_project(
        tmp_path,
        name="probe-app",
        version="0.3.0",
        scripts={"probe-app": "probe_app.app:main"},
        files={"probe_app/app.py": PROBE_APP},
    )
    result = hatchling_build(project, "krust:binary", build_env(cache_dir))
    assert result.returncode == 0, result.stderr
    assert [p.name for p in (project / "dist" / "krust").iterdir()] == [
        "probe-app-0.3.0-linux-amd64"
    ]
