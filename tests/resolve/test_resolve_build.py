"""`hatch-krust resolve` for real: tiny projects frozen, pushed to a registry on loopback,
the YAML printed with the pushed digests; checked with skopeo."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests.infra.registry import RegistryServer
from tests.resolve.conftest import Workspace, builds_in, resolve_env, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.registry]

# `{a}` and `{b}` are where the references go; every other byte must come out unchanged,
# including the krust:// in comments (comments are never references).
WEB = """\
# Web tier. Its image comes from krust://apps/app-a (this comment stays as it is).
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # trailing comment
spec:
  template:
    spec:
      containers:
        - name: web
          image: {a}    # built by hatch-krust
          args: ["--port", "8080"]
---
apiVersion: v1
kind: Pod
metadata: {{name: sidecar}}
spec:
  containers:
  - name: side
    image: "{b}"
"""
JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  template:
    spec:
      containers:
      - image: '{a}'
        command: [/app-a, migrate]
      restartPolicy: Never
"""


def skopeo(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["skopeo", *args], capture_output=True, check=False, timeout=120)


@pytest.fixture(scope="module")
def deploy(workspace: Workspace) -> Path:
    """Two YAML files naming app-a twice and app-b once, plus what must not be read: a
    Markdown file, and a subdirectory (not read without -R) naming a missing project."""
    workspace.write("deploy/a-web.yaml", WEB.format(a="krust://apps/app-a", b="krust://apps/app-b"))
    workspace.write("deploy/b-job.yml", JOB.format(a="krust://apps/app-a"))
    workspace.write("deploy/README.md", "image: krust://apps/not-yaml\n")
    workspace.write("deploy/extra/c.yaml", "image: krust://apps/missing\n")
    return workspace.root / "deploy"


@pytest.fixture(scope="module")
def resolved(
    workspace: Workspace,
    deploy: Path,
    registry: RegistryServer,
    cache_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> subprocess.CompletedProcess[bytes]:
    env = resolve_env(
        cache_dir, tmp_path_factory.mktemp("home"), KRUST_REPO=f"{registry.host}/team"
    )
    return run_cli(["resolve", "-f", "deploy", "--image-refs", "refs.txt"], workspace.root, env)


def pushed_digest(reference: str) -> str:
    """The digest of the manifest the registry serves for `reference` (read by skopeo)."""
    raw = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{reference}")
    assert raw.returncode == 0, raw.stderr.decode()
    return "sha256:" + hashlib.sha256(raw.stdout).hexdigest()


def test_each_distinct_project_is_built_once(
    resolved: subprocess.CompletedProcess[bytes],
) -> None:
    stderr = resolved.stderr.decode()
    assert resolved.returncode == 0, stderr
    # three references, two projects: two builds (a build per reference would show app-a twice)
    assert builds_in(stderr) == {"apps/app-a": 1, "apps/app-b": 1}, stderr


def test_references_are_replaced_by_the_pushed_digests(
    resolved: subprocess.CompletedProcess[bytes], registry: RegistryServer, workspace: Workspace
) -> None:
    assert resolved.returncode == 0, resolved.stderr.decode()
    host = registry.host
    refs = {}
    for name in ("app-a", "app-b"):
        # what the registry serves under the tag the build pushed...
        digest = pushed_digest(f"{host}/team/{name}:latest")
        refs[name] = f"{host}/team/{name}@{digest}"
        # ...exists by digest, and is what the build reported
        assert pushed_digest(refs[name]) == digest
        ref_file = workspace.root / "apps" / name / "dist" / "krust" / f"{name}-0.1.0.ref"
        assert ref_file.read_text().strip() == refs[name]
    expected = WEB.format(a=refs["app-a"], b=refs["app-b"]) + "---\n" + JOB.format(a=refs["app-a"])
    # byte for byte: comments (also those naming krust://), quoting, order, separators
    assert resolved.stdout.decode() == expected
    assert resolved.stdout.count(b"@sha256:") == 3
    assert b"krust://apps/app-a (this comment stays" in resolved.stdout
    # --image-refs: each reference once, in the order the YAML first names its project
    refs_file = workspace.root / "refs.txt"
    assert refs_file.read_text() == f"{refs['app-a']}\n{refs['app-b']}\n"


def test_progress_goes_to_stderr_prefixed_by_project(
    resolved: subprocess.CompletedProcess[bytes],
) -> None:
    stderr = resolved.stderr.decode()
    assert "[apps/app-a] " in stderr
    assert "[apps/app-b] " in stderr
    assert "Building the wheel" not in resolved.stdout.decode()


def test_again_with_nothing_changed_gives_the_same_yaml(
    resolved: subprocess.CompletedProcess[bytes],
    workspace: Workspace,
    registry: RegistryServer,
    cache_dir: Path,
    tmp_path: Path,
) -> None:
    """Reproducible builds: a second resolve (executables from the cache) pushes the same
    digests, so the YAML is identical."""
    env = resolve_env(cache_dir, tmp_path, KRUST_REPO=f"{registry.host}/team")
    again = run_cli(
        ["resolve", "-q", "-f", "deploy/a-web.yaml", "-f", "deploy/b-job.yml"], workspace.root, env
    )
    assert again.returncode == 0, again.stderr.decode()
    assert again.stdout == resolved.stdout
    assert builds_in(again.stderr.decode()) == {}  # -q: no progress


def test_recursive_reads_subdirectories_and_a_missing_project_fails_before_any_build(
    workspace: Workspace, deploy: Path, registry: RegistryServer, cache_dir: Path, tmp_path: Path
) -> None:
    env = resolve_env(cache_dir, tmp_path, KRUST_REPO=f"{registry.host}/team")
    done = run_cli(["resolve", "-R", "-f", "deploy"], workspace.root, env)
    stderr = done.stderr.decode()
    assert done.returncode == 1, stderr
    assert done.stdout == b""  # no partial YAML
    assert "krust://apps/missing" in stderr
    assert "deploy/extra/c.yaml:1" in stderr
    assert "no such directory" in stderr
    assert "Traceback" not in stderr
    assert builds_in(stderr) == {}  # checked before anything is built


def test_a_directory_without_pyproject_is_refused(
    workspace: Workspace, registry: RegistryServer, cache_dir: Path, tmp_path: Path
) -> None:
    workspace.write("bad/not-project.yaml", "image: krust://not-a-project\n")
    env = resolve_env(cache_dir, tmp_path, KRUST_REPO=f"{registry.host}/team")
    done = run_cli(["resolve", "-f", "bad/not-project.yaml"], workspace.root, env)
    stderr = done.stderr.decode()
    assert done.returncode == 1
    assert done.stdout == b""
    assert "krust://not-a-project (bad/not-project.yaml:1)" in stderr
    assert "has no pyproject.toml" in stderr


def test_a_failing_build_names_the_project_and_its_last_lines_and_prints_no_yaml(
    workspace: Workspace, registry: RegistryServer, cache_dir: Path, tmp_path: Path
) -> None:
    workspace.write(
        "bad/broken.yaml",
        "image: krust://apps/app-a\n---\nimage: krust://apps/broken-app\n",
    )
    env = resolve_env(cache_dir, tmp_path, KRUST_REPO=f"{registry.host}/team")
    done = run_cli(["resolve", "-q", "-f", "bad/broken.yaml"], workspace.root, env)
    stderr = done.stderr.decode()
    assert done.returncode == 1, stderr
    assert done.stdout == b""  # app-a was built and pushed, but no partial YAML
    assert "hatch-krust: error: krust://apps/broken-app (bad/broken.yaml:3): building" in stderr
    assert "exited with status 1" in stderr
    # the build's own message, quoted from its last lines even with -q
    assert "no `[project.scripts]` entry" in stderr
    assert "krust://apps/app-a (" not in stderr  # the good one is not blamed
    assert "Traceback" not in stderr


def test_without_a_repository_nothing_is_built(
    workspace: Workspace, deploy: Path, cache_dir: Path, tmp_path: Path
) -> None:
    env = resolve_env(cache_dir, tmp_path)  # no KRUST_REPO, no user defaults
    done = run_cli(["resolve", "-f", str(deploy)], workspace.root, env)
    stderr = done.stderr.decode()
    assert done.returncode == 1
    assert done.stdout == b""
    assert "set KRUST_REPO=<registry>/<prefix> so resolve can push" in stderr
    assert "krust://apps/app-a (" in stderr
    assert "krust://apps/app-b (" in stderr
    assert builds_in(stderr) == {}


def test_yaml_without_references_needs_no_repository(
    workspace: Workspace, cache_dir: Path, tmp_path: Path
) -> None:
    text = "# nothing to build\napiVersion: v1\nkind: ConfigMap\ndata: {a: 'b'}\n"
    workspace.write("plain/cm.yaml", text)
    done = run_cli(["resolve", "-f", "plain"], workspace.root, resolve_env(cache_dir, tmp_path))
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode() == text
