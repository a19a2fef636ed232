"""The `hatch-krust` command: the digest reference alone on stdout, clear errors, no tracebacks."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from hatch_krust.cli import COMMANDS, main
from hatch_krust.oci.layout import write_archive
from hatch_krust.registry import pull_manifest
from tests.infra.registry import free_port, random_image

if TYPE_CHECKING:
    from pathlib import Path

    from hatch_krust.oci.layout import Layout
    from tests.infra.registry import RegistryServer

DIGEST_REF = re.compile(r"^127\.0\.0\.1:\d+/[a-z/]+@sha256:[a-f0-9]{64}$")


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hatch_krust", *args], capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.mark.registry
def test_push_layout_prints_only_the_digest_reference(registry: RegistryServer,
                                                      layout: Layout) -> None:
    descriptor = random_image(layout, tag="v1")
    done = run_cli("push", f"oci:{layout.root}:v1", f"{registry.host}/cli/app:v1",
                   "--tag", "also")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"{registry.host}/cli/app@{descriptor.digest}"]
    assert DIGEST_REF.match(done.stdout.strip())
    assert "sha256:" in done.stderr  # progress went to stderr
    assert pull_manifest(f"{registry.host}/cli/app:also").digest == descriptor.digest


@pytest.mark.registry
def test_push_archive_and_copy_and_inspect(registry: RegistryServer, layout: Layout,
                                           tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    descriptor = random_image(layout, tag="v1")
    archive = tmp_path / "img.tar"
    write_archive(layout, archive)
    dest = f"{registry.host}/cli/archive:v1"
    assert main(["push", "-q", f"oci-archive:{archive}:v1", dest]) == 0
    out, err = capsys.readouterr()
    assert out == f"{registry.host}/cli/archive@{descriptor.digest}\n"
    assert err == ""
    assert main(["copy", "-q", dest, f"docker://{registry.host}/cli/copied:v2"]) == 0
    assert capsys.readouterr().out == f"{registry.host}/cli/copied@{descriptor.digest}\n"
    assert main(["copy", "-q", dest, f"oci:{tmp_path / 'out'}:x"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"@{descriptor.digest}")
    assert main(["inspect", dest]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["digest"] == descriptor.digest
    assert shown["config"]["os"] == "linux"
    assert main(["inspect", "--raw", dest]) == 0
    assert json.loads(capsys.readouterr().out) == layout.read_json(descriptor.digest)
    assert main(["inspect", "--config", f"oci:{layout.root}:v1"]) == 0
    assert json.loads(capsys.readouterr().out)["architecture"] == "amd64"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["push", "oci:/nonexistent-layout:v1", "localhost:1/a"], "not an OCI image layout"),
        (["push", "docker-archive:x.tar", "localhost:1/a"], "unsupported transport"),
        (["push", "localhost:1/a", "localhost:1/b"], "SRC must be oci:"),
        (["push", "oci:/x", "oci:/y"], "DST must be a registry reference"),
        (["copy", "oci:/x", "UPPER/Case"], "must be lowercase"),
        (["copy", "oci:/x", "ftp://host/x"], "unsupported transport"),
        (["inspect", "localhost:1/app@sha256:1234"], "digest after '@'"),
        (["inspect", "localhost:1/app:bad:tag"], "Invalid image reference"),
        (["inspect", "oci:/x:bad tag"], "not a valid tag"),
    ],
)
def test_bad_input_is_one_clear_line(args: list[str], message: str) -> None:
    done = run_cli(*args)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("hatch-krust: error:")]
    assert len(errors) == 1
    assert message.lower() in errors[0].lower()


def test_unreachable_registry_fails_within_bounded_time() -> None:
    port = free_port()
    started = time.monotonic()
    done = run_cli("inspect", f"127.0.0.1:{port}/nothing/here:v1", timeout=60)
    elapsed = time.monotonic() - started
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"Cannot talk to registry 127.0.0.1:{port}" in done.stderr
    assert elapsed < 30


@pytest.mark.parametrize("args", [[], ["push"], ["push", "only-one"], ["frobnicate"],
                                  ["push", "a", "b", "--jobs", "0"]])
def test_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    assert "usage:" in capsys.readouterr().err


def test_subcommands_are_registered() -> None:
    assert {"push", "copy", "inspect"} <= set(COMMANDS)
    assert main(["--version"]) == 0


def test_mount_from_is_checked_by_grammar(layout: Layout) -> None:
    random_image(layout, tag="v1")
    done = run_cli("push", f"oci:{layout.root}:v1", "localhost:1/a", "--mount-from", "x&y=1")
    assert done.returncode == 1
    assert "repository part 'x&y=1'" in done.stderr


@pytest.mark.registry
def test_wrong_password_through_the_cli(basic_registry: RegistryServer, layout: Layout,
                                        tmp_path: Path) -> None:
    assert basic_registry.tls is not None
    auth = tmp_path / "auth.json"
    secret = base64.b64encode(b"alice:n0t-the-password").decode()
    auth.write_text(json.dumps({"auths": {basic_registry.host: {"auth": secret}}}))
    random_image(layout, tag="v1")
    env = {**os.environ, "SSL_CERT_FILE": str(basic_registry.tls.cert)}
    done = subprocess.run(
        [sys.executable, "-m", "hatch_krust", "push", "--authfile", str(auth),
         f"oci:{layout.root}:v1", f"{basic_registry.host}/cli/denied:v1"],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert f"Unauthorized: registry {basic_registry.host} refused the credentials for user " \
           f"'alice' from {auth}" in done.stderr
    assert "n0t-the-password" not in done.stderr
    assert secret not in done.stderr
