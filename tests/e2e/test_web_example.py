"""`examples/web` end to end: built with `-t krust` in the default (layered) format, its
configuration in the image config, run with umoci + runc on a read-only root without /tmp
(as its Deployment runs it), answering `/healthz` on loopback, stopped cleanly by SIGTERM;
and its Kubernetes manifest agreeing with its configuration."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import EXAMPLES, build_env, copy_example, hatchling_build
from tests.infra.runtime import RunningContainer, start_image

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

WEB = EXAMPLES / "web"


def krust_table() -> dict[str, Any]:
    data = tomllib.loads((WEB / "pyproject.toml").read_text())
    return data["tool"]["hatch"]["build"]["targets"]["krust"]  # type: ignore[no-any-return]


def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["skopeo", *args], capture_output=True, text=True, check=False, timeout=120
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, container: RunningContainer, deadline: float = 60.0) -> None:
    """Until something accepts on 127.0.0.1:port; fail early if the container exits."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if container.process.poll() is not None:
            pytest.fail(
                f"the service exited with {container.process.returncode} before "
                f"listening:\n{container.output()}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"nothing listened on port {port} within {deadline} s:\n{container.output()}")


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return int(response.status), bytes(response.read())


@pytest.fixture(scope="module")
def web_layout(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Iterator[Path]:
    """The example built as a user would, then copied by skopeo (not our code) to a layout."""
    work = tmp_path_factory.mktemp("web")
    project = copy_example("web", work)
    built = hatchling_build(project, "krust", build_env(cache_dir))
    assert built.returncode == 0, built.stderr
    archive = project / "dist" / "krust" / "web-0.1.0.oci.tar"
    assert built.stdout.splitlines() == [str(archive)]  # nothing pushed: the archive's path
    outputs = sorted(p.name for p in (project / "dist" / "krust").iterdir())
    assert "web-0.1.0-linux-amd64" not in outputs  # layered: no executable beside the archive
    record = json.loads((project / "dist" / "krust" / "web-0.1.0.build.json").read_text())
    assert record["format"] == "layered"
    assert archive.is_file(), outputs
    layout = work / "layout"
    copied = skopeo("copy", f"oci-archive:{archive}", f"oci:{layout}:run")
    assert copied.returncode == 0, copied.stderr
    yield layout


@pytest.mark.slow
@pytest.mark.runtime
def test_the_image_config_carries_env_labels_and_ports(web_layout: Path) -> None:
    inspected = skopeo("inspect", "--config", f"oci:{web_layout}:run")
    assert inspected.returncode == 0, inspected.stderr
    config = json.loads(inspected.stdout)["config"]
    table = krust_table()
    env = dict(item.split("=", 1) for item in config["Env"])
    for key, value in table["env"].items():
        assert env[key] == value, key
    assert config["Labels"] == {**config["Labels"], **table["labels"]}
    assert set(config["ExposedPorts"]) == set(table["ports"]) == {"8080/tcp"}
    assert config["Entrypoint"] == ["/app/bin/python", "/opt/krust/pid1.py", "/app/bin/web"]
    assert config["User"] == "65532"


@pytest.mark.slow
@pytest.mark.runtime
def test_the_service_answers_healthz_and_stops_on_sigterm(web_layout: Path, tmp_path: Path) -> None:
    port = free_port()  # the image says 8080; like `docker run -e PORT=…`, the test picks one
    with start_image(
        web_layout, "run", tmp_path, host_network=True, env={"PORT": str(port)}, read_only=True
    ) as container:
        wait_for_port(port, container)
        status, body = get(f"http://127.0.0.1:{port}/healthz")
        assert (status, body) == (200, b"ok\n"), container.output()
        status, body = get(f"http://127.0.0.1:{port}/")
        assert status == 200
        assert json.loads(body) == {
            "greeting": krust_table()["env"]["GREETING"],
            "version": "0.1.0",
        }
        container.signal("TERM")  # what `docker stop` and Kubernetes send first
        try:
            code = container.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"SIGTERM did not stop the service:\n{container.output()}")
        assert code == 0, container.output()
        assert "web: stopped" in container.output()


def test_the_kubernetes_manifest_matches_the_configuration() -> None:
    documents = [d for d in yaml.safe_load_all((WEB / "deployment.yaml").read_text()) if d]
    kinds = {d["kind"]: d for d in documents}
    assert set(kinds) == {"Deployment", "Service"}
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "krust://examples/web"
    port = int(krust_table()["ports"][0].split("/")[0])
    assert [p["containerPort"] for p in container["ports"]] == [port]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"
    # the layered format writes nothing at start: a read-only root and no /tmp volume
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert "volumeMounts" not in container
    assert "volumes" not in pod
    selector = kinds["Service"]["spec"]["selector"]
    assert selector.items() <= kinds["Deployment"]["spec"]["template"]["metadata"]["labels"].items()
