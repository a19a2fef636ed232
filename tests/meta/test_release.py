"""What a release uploads to PyPI, built as the release workflow builds it (sdist and wheel
with hatchling) and checked by `twine check --strict`: the licence in both, the
classifiers, a README whose links work on PyPI, and no tests in the sdist (they need this
repository, git and the tools scripts/test.sh installs)."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LICENSE = (REPO / "LICENSE").read_text()


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "sdist", "-t", "wheel", "-d", str(out)],
        cwd=REPO, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return sdist, wheel


def test_twine_check_strict_passes(dists: tuple[Path, Path]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, dists)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2, done.stdout


def test_the_licence_is_in_the_wheel_and_the_sdist(dists: tuple[Path, Path]) -> None:
    assert "Apache License" in LICENSE
    assert "Version 2.0, January 2004" in LICENSE
    sdist, wheel = dists
    with zipfile.ZipFile(wheel) as archive:
        (licence,) = [n for n in archive.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert archive.read(licence).decode() == LICENSE
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        headers = Parser().parsestr(archive.read(metadata).decode())
    assert headers.get_all("License-File") == ["LICENSE"]
    assert headers["License-Expression"] == "Apache-2.0"
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/")[0]
        member = archive.extractfile(f"{top}/LICENSE")
        assert member is not None
        assert member.read().decode() == LICENSE


def test_the_classifiers_say_what_pypi_filters_on(dists: tuple[Path, Path]) -> None:
    with zipfile.ZipFile(dists[1]) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        classifiers = Parser().parsestr(archive.read(metadata).decode()).get_all("Classifier")
    assert "Framework :: Hatch" in classifiers
    assert "Operating System :: POSIX :: Linux" in classifiers
    assert any(c.startswith("Development Status :: ") for c in classifiers)
    for version in ("3.10", "3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers


def test_the_sdist_has_no_tests(dists: tuple[Path, Path]) -> None:
    with tarfile.open(dists[0]) as archive:
        names = [n.split("/", 1)[1] for n in archive.getnames() if "/" in n]
    assert not [n for n in names if n.startswith("tests/") or "/tests/" in n], names
    assert "hatch_krust/cli.py" in names


def test_the_readme_links_work_on_pypi() -> None:
    """PyPI shows the README without the repository around it: relative links break."""
    text = (REPO / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    assert targets
    relative = [t for t in targets if not t.startswith(("https://", "http://", "#"))]
    assert relative == []
