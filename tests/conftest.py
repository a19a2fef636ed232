"""Suite-wide policy: pure tests run anywhere; `infra` tests need the machine
`scripts/test.sh` prepares (root, Debian's docker-registry, skopeo, umoci, runc, gcc, git,
the network). In an `infra` test a missing tool is a failure to fix, never a skip: the
README's command runs everything and fails on any skip. `pytest -m "not infra"` is the
contributor's run, as a normal user with none of those tools."""

from __future__ import annotations

import functools
import os
import shutil

import pytest

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
