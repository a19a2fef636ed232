"""`hatch-krust apply`: the resolved YAML piped into `kubectl apply -f -`. kubectl here is a
stand-in script put first on PATH by the test, which records its arguments and stdin."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from tests.infra.registry import RegistryServer
from tests.resolve.conftest import Workspace, builds_in, resolve_env, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.registry]

FAKE_KUBECTL = """\
#!/bin/sh
printf '%s\\n' "$@" > "$KUBECTL_RECORD/args"
cat > "$KUBECTL_RECORD/stdin"
echo "deployment.apps/web configured (fake kubectl)"
exit "${KUBECTL_EXIT:-0}"
"""
WEB = """\
# krust://apps/app-a in a comment stays
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: web
        image: krust://apps/app-a
"""


@pytest.fixture
def kubectl(tmp_path: Path) -> tuple[str, Path]:
    """(PATH with the fake kubectl first, the directory where it records)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "kubectl"
    script.write_text(FAKE_KUBECTL)
    script.chmod(0o755)
    record = tmp_path / "record"
    record.mkdir()
    return os.pathsep.join([str(bin_dir), os.environ["PATH"]]), record


def test_apply_pipes_the_resolved_yaml_into_kubectl(
    workspace: Workspace,
    registry: RegistryServer,
    cache_dir: Path,
    tmp_path: Path,
    kubectl: tuple[str, Path],
) -> None:
    path, record = kubectl
    workspace.write("apply/web.yaml", WEB)
    env = resolve_env(
        cache_dir,
        tmp_path,
        KRUST_REPO=f"{registry.host}/team",
        PATH=path,
        KUBECTL_RECORD=str(record),
    )
    done = run_cli(
        ["apply", "-f", "apply/web.yaml", "--", "-n", "demo", "--dry-run=client"],
        workspace.root,
        env,
    )
    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    assert (record / "args").read_text().splitlines() == [
        "apply",
        "-f",
        "-",
        "-n",
        "demo",
        "--dry-run=client",
    ]
    fed = (record / "stdin").read_text()
    raw = subprocess.run(
        [
            "skopeo",
            "inspect",
            "--raw",
            "--tls-verify=false",
            f"docker://{registry.host}/team/app-a:latest",
        ],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    reference = f"{registry.host}/team/app-a@sha256:{hashlib.sha256(raw).hexdigest()}"
    assert fed == WEB.replace("image: krust://apps/app-a", f"image: {reference}")
    # kubectl's output is ours; the YAML is not printed
    assert done.stdout.decode() == "deployment.apps/web configured (fake kubectl)\n"
    assert builds_in(stderr) == {"apps/app-a": 1}


def test_kubectl_failing_is_reported_with_its_status(
    workspace: Workspace, cache_dir: Path, tmp_path: Path, kubectl: tuple[str, Path]
) -> None:
    path, record = kubectl
    workspace.write("apply/plain.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
    env = resolve_env(cache_dir, tmp_path, PATH=path, KUBECTL_RECORD=str(record), KUBECTL_EXIT="3")
    done = run_cli(["apply", "-f", "apply/plain.yaml"], workspace.root, env)
    assert done.returncode == 3
    assert "hatch-krust: error: kubectl apply exited with status 3" in done.stderr.decode()
    assert (record / "stdin").read_text() == (
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n"
    )


def test_without_kubectl_apply_says_so_and_builds_nothing(
    workspace: Workspace, registry: RegistryServer, cache_dir: Path, tmp_path: Path
) -> None:
    workspace.write("apply/web.yaml", WEB)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = resolve_env(cache_dir, tmp_path, KRUST_REPO=f"{registry.host}/team", PATH=str(empty))
    done = run_cli(["apply", "-f", "apply/web.yaml", "-R"], workspace.root, env)
    stderr = done.stderr.decode()
    assert done.returncode == 1
    assert done.stdout == b""
    assert stderr == (
        "hatch-krust: error: kubectl is not on PATH; run "
        "`hatch-krust resolve -f apply/web.yaml -R | kubectl apply -f -` "
        "where kubectl is installed\n"
    )
