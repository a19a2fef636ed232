"""Suite-wide policy: pure tests run anywhere; `infra` tests need the machine
`scripts/test.sh` prepares (root, Debian's docker-registry, skopeo, umoci, runc, gcc, git,
the network). In an `infra` test a missing tool is a failure to fix, never a skip: the
README's command runs everything and fails on any skip. `pytest -m "not infra"` is the
contributor's run, as a normal user with none of those tools.

Here, for the whole suite: the `infra` policy, the one `registry` fixture, and the hermetic
environment every test runs in (see `hermetic`). A test requires a program with
`tests.infra.tools.require_tool`, which fails (never skips) when it is missing."""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.infra.environment import point_at
from tests.infra.registry import RegistryServer, start_registry
from tests.infra.tools import require_tool

INFRA_TOOLS = ("docker-registry", "skopeo", "umoci", "runc", "gcc", "git")
# Older, narrower markers: each still says why, and each implies `infra`.
IMPLIES_INFRA = ("slow", "registry", "runtime")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Add `infra` before `-m` selects, so `-m "not infra"` also drops the older markers."""
    for item in items:
        if item.get_closest_marker("infra") is None and any(
            item.get_closest_marker(name) for name in IMPLIES_INFRA
        ):
            item.add_marker(pytest.mark.infra)


@functools.cache
def infra_problem() -> str | None:
    """What this machine lacks for the `infra` tests, or None; asked once per session."""
    missing = [tool for tool in INFRA_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"missing test tools: {', '.join(missing)}"
    if os.geteuid() != 0:
        return "the infra tests (chroot, runc, registries) need root"
    return None


@pytest.fixture(autouse=True)
def _infra_machine(request: pytest.FixtureRequest) -> None:
    """Fail, never skip, an `infra` test on a machine that cannot run it."""
    if request.node.get_closest_marker("infra") is None:
        return
    problem = infra_problem()
    if problem:
        pytest.fail(
            f"{problem}; run `bash scripts/test.sh` (as root), or select the pure tests "
            'with `pytest -m "not infra"`',
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def hermetic(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path | None:
    """Each test gets its own HOME, XDG directories and Docker config, with no
    `REGISTRY_AUTH_FILE` and no `KRUST_*` variable (tests/infra/environment.py); returns
    the directory that holds them.

    Opting out is explicit and visible: `@pytest.mark.host_environment` keeps the process's
    environment whole. An `infra` test keeps HOME and the XDG config, cache and data
    directories (pip's index settings, uv's and PyInstaller's caches, git's identity),
    but still gets its own credentials locations and no `KRUST_*` variable.
    """
    if request.node.get_closest_marker("host_environment") is not None:
        return None
    root = tmp_path_factory.mktemp("env", numbered=True)
    point_at(root, monkeypatch, home=request.node.get_closest_marker("infra") is None)
    return root


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's one KRUST_CACHE_DIR for real builds (tests/e2e, newuser, attest): an
    executable frozen by one test serves every later build of the same inputs. Defined
    here, not re-exported by each directory's conftest: a re-exported fixture is a fixture
    of its own, with a cache of its own."""
    return tmp_path_factory.mktemp("krust-cache")


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """The suite's one anonymous Debian docker-registry on loopback, shared by the session
    (each test module pushes to repositories of its own)."""
    require_tool("docker-registry")
    with start_registry(tmp_path_factory.mktemp("registry"), "anonymous") as server:
        yield server
