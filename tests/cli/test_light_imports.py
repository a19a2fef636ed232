"""`push`, `copy` and `inspect` load only what they use: start-up is most of a push with
nothing new to send (issue 21: a second push ≤ 0.2x the first, as a whole process).

Counted, not timed: a child process runs the command, then prints the modules it
imported and whether any CA bundle was read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from hatch_krust.oci.descriptor import Platform
from hatch_krust.oci.layout import Layout
from tests.infra.registry import free_port, random_image

if TYPE_CHECKING:
    from pathlib import Path

    from tests.infra.registry import RegistryServer

# Nothing of building, attestation or hatchling; no merge code; no YAML.
HEAVY = (
    "hatchling", "hatch", "packaging", "cyclonedx", "rich", "click", "yaml", "elftools",
    "PyInstaller", "staticx", "pip", "setuptools",
    "hatch_krust.attest", "hatch_krust.building", "hatch_krust.formats", "hatch_krust.flow",
    "hatch_krust.python", "hatch_krust.freeze", "hatch_krust.layered", "hatch_krust.resolve",
    "hatch_krust.plugin", "hatch_krust.publish", "hatch_krust.progress", "hatch_krust.config",
    "hatch_krust.pid1", "hatch_krust.oci.merge", "hatch_krust.oci.assemble",
    "hatch_krust.oci.basefs", "hatch_krust.oci.layer",
)

_CHILD = """
import json, sys
from hatch_krust.cli import main
from hatch_krust.registry import trust
statuses = [main(argv) for argv in json.loads(sys.argv[1])]
print(json.dumps({"statuses": statuses, "modules": sorted(sys.modules),
                  "ca_read": [t.loaded for k, t in trust._SHARED.items() if k is not None]}))
"""


def run_child(commands: list[list[str]], tmp_path: Path) -> dict[str, list]:  # type: ignore[type-arg]
    env = {key: value for key, value in os.environ.items()
           if key not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}  # certifi's bundle, if any
    env["KRUST_CACHE_DIR"] = str(tmp_path / "cache")
    done = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(commands)],
                          capture_output=True, text=True, env=env, check=True, timeout=120)
    result: dict[str, list] = json.loads(done.stdout.splitlines()[-1])  # type: ignore[type-arg]
    return result


def heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


def test_guard_sees_a_heavy_import(tmp_path: Path) -> None:
    """The check itself can fail: a command that builds does import hatchling's kin."""
    result = run_child([], tmp_path)
    assert heavy([*result["modules"], "hatch_krust.flow", "cyclonedx.model"]) == [
        "hatch_krust.flow", "cyclonedx.model"]


def test_push_copy_inspect_import_nothing_heavy(tmp_path: Path) -> None:
    layout = Layout.create(tmp_path / "layout")
    random_image(layout, layers=1, size=1024, tag="v1", platform=Platform("linux", "amd64"))
    closed = f"127.0.0.1:{free_port()}"  # nothing listens: the push fails after its probes
    result = run_child([
        ["push", "-q", f"oci:{layout.root}:v1", f"{closed}/light/push:v1"],
        ["copy", "-q", f"oci:{layout.root}:v1", f"oci:{tmp_path / 'copy'}:v1"],
        ["inspect", f"oci:{layout.root}:v1"],
        ["--version"],
    ], tmp_path)
    assert result["statuses"] == [1, 0, 0, 0]
    assert heavy(result["modules"]) == []
    assert result["ca_read"] == [False]  # a plain-http (here: closed) port reads no bundle


@pytest.mark.registry
def test_second_push_imports_nothing_heavy(registry: RegistryServer, tmp_path: Path) -> None:
    """Through a real registry: push, then push to another repository (mounts)."""
    layout = Layout.create(tmp_path / "layout")
    random_image(layout, layers=2, size=4096, tag="v1", platform=Platform("linux", "amd64"))
    source = f"oci:{layout.root}:v1"
    result = run_child([
        ["push", "-q", source, f"{registry.host}/light/first:v1"],
        ["push", "-q", source, f"{registry.host}/light/second:v1"],
    ], tmp_path)
    assert result["statuses"] == [0, 0]
    assert heavy(result["modules"]) == []
    assert result["ca_read"] == [False]
