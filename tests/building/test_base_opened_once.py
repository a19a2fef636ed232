"""The base is opened once per platform per build: the build opens the first platform's
base before the format runs (so a bad base costs no work), and the layered format on the
base's Python asks for every platform's base again (`formats.base.BaseSource`); the
first platform's is the one the build opened, not a second pull (`building.bases.
BaseOpener`). So each platform manifest and blob of the base is fetched from the
registry at most once per build (the tag is looked up by each platform's pull, no more),
and a base pinned by digest and served from the cache is digest-checked once.

Through the real `build_image` of the layered format on Debian's two-platform Python base
(tests/infra/pythonbases.py) in a real registry, whose access log says what was asked.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from hatch_krust.building.image import ProjectFacts, build_image, plan_image
from hatch_krust.config import load_config
from hatch_krust.inputs import BuildInputs
from hatch_krust.oci.layout import Layout
from tests.e2e.conftest import write_project
from tests.infra.pythonbases import BASE_TAG, python_base_layout
from tests.infra.registry import RegistryServer

pytestmark = pytest.mark.infra

CACHE = Path(os.environ.get("KRUST_TEST_CACHE", "/var/tmp/hatch-krust-tests")) / "pythonbases"
REPOSITORY = "base-opened-once/python"
PLATFORMS = ["linux/amd64", "linux/arm64"]


class Heard:
    """A reporter that keeps what it is told."""

    verbosity = 0

    def __init__(self) -> None:
        self.lines: list[str] = []

    def _say(self, message: str = "", **kwargs: Any) -> None:
        self.lines.append(message)

    display_info = display_waiting = display_success = _say

    def display_debug(self, message: str = "", level: int = 1, **kwargs: Any) -> None:
        pass


@pytest.fixture(scope="module")
def base(registry: RegistryServer) -> tuple[str, str]:
    """(tag reference, digest reference) of the two-platform Python base in the registry."""
    CACHE.mkdir(parents=True, exist_ok=True)
    layout = python_base_layout(CACHE)
    tagged = f"{registry.host}/{REPOSITORY}:3.11"
    subprocess.run(
        ["skopeo", "copy", "-q", "--all", "--dest-tls-verify=false",
         f"oci:{layout}:{BASE_TAG}", f"docker://{tagged}"],
        check=True, capture_output=True,
    )  # fmt: skip
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{tagged}"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    digest = f"sha256:{hashlib.sha256(raw).hexdigest()}"
    return tagged, f"{registry.host}/{REPOSITORY}@{digest}"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(
        tmp_path_factory.mktemp("once"),
        name="once-app",
        scripts={"once-app": "once_app:main"},
        files={"once_app/__init__.py": "def main():\n    print('once')\n"},
    )


def build(project: Path, base: str, cache: Path, work: Path) -> Heard:
    """The layered image of `project` on `base`'s Python for both platforms, in-process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KRUST_", "HATCH_"))}
    env.update({"KRUST_CACHE_DIR": str(cache), "SOURCE_DATE_EPOCH": "1700000000"})
    table = {"format": "layered", "python": "base", "base-image": base, "platforms": PLATFORMS,
             "insecure-registries": [base.split("/", 1)[0]]}  # fmt: skip
    inputs = BuildInputs(
        root=project,
        dist_name="once-app",
        version="1.0",
        scripts={"once-app": "once_app:main"},
        config=load_config(table, env=env, user_defaults={}),
        epoch=1700000000,
        out_dir=work / "dist",
    )
    reporter = Heard()
    plan = plan_image(inputs, reporter, None)  # type: ignore[arg-type]
    built = build_image(inputs, ProjectFacts(), plan, reporter, work)  # type: ignore[arg-type]
    assert built.platform == plan.platform
    assert len(Layout.open(work / "image").read_json(built.index.digest)["manifests"]) == 2
    return reporter


def fetched(requests: list[str]) -> Counter[str]:
    """How many times each manifest (by tag or digest) and blob of the base was asked for."""
    prefix = f"/v2/{REPOSITORY}/"
    return Counter(
        path.removeprefix(prefix)
        for method, _, path in (line.partition(" ") for line in requests)
        if method in ("GET", "HEAD") and path.startswith(prefix)
    )


def test_a_registry_base_is_fetched_once_per_build(
    base: tuple[str, str], project: Path, registry: RegistryServer, tmp_path: Path
) -> None:
    tagged, _pinned = base
    mark = registry.mark()
    heard = build(project, tagged, tmp_path / "cache", tmp_path / "work")
    asked = fetched(registry.requests_since(mark))
    by_digest = {what: n for what, n in asked.items() if "sha256:" in what}
    blobs = [what for what in by_digest if what.startswith("blobs/")]
    assert len(blobs) >= 4, asked  # each platform's config and layer
    assert all(n == 1 for n in by_digest.values()), asked
    # the tag is looked up by each platform's pull, no more (the index's own digest is not
    # asked for: its platform manifests are)
    assert asked["manifests/3.11"] <= len(PLATFORMS), asked
    pulls = [line for line in heard.lines if line.startswith("Pulling base image")]
    assert sorted(pulls) == sorted(f"Pulling base image {tagged} ({p})" for p in PLATFORMS)


def test_a_pinned_base_from_the_cache_is_checked_once_per_build(
    base: tuple[str, str],
    project: Path,
    registry: RegistryServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _tagged, pinned = base
    cache = tmp_path / "cache"
    first = build(project, pinned, cache, tmp_path / "first")
    assert not [line for line in first.lines if "served from the cache" in line]
    checked: Counter[str] = Counter()
    verify_blob = Layout.verify_blob

    def counting(layout: Layout, descriptor: Any) -> bool:
        checked[descriptor.digest] += 1
        return verify_blob(layout, descriptor)

    monkeypatch.setattr(Layout, "verify_blob", counting)
    mark = registry.mark()
    again = build(project, pinned, cache, tmp_path / "again")
    assert fetched(registry.requests_since(mark)) == Counter()  # served offline
    assert len(checked) >= 3 * len(PLATFORMS), checked  # each platform's manifest, config, layer
    assert all(n == 1 for n in checked.values()), checked
    served = [line for line in again.lines if "served from the cache" in line]
    assert len(served) == len(PLATFORMS)  # each platform's base says so, once
