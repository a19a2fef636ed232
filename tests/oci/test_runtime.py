"""Run what we build, for real: umoci unpacks the image, runc runs it (root, no daemon)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import certifi
import pytest

from hatch_krust.oci.assemble import BaseImage, ImageOptions, assemble
from hatch_krust.oci.descriptor import Platform
from hatch_krust.oci.layout import Layout, open_archive, write_archive
from tests.infra.images import BASE_TAG, make_umoci_base
from tests.infra.runtime import run_image, run_in_chroot

pytestmark = [
    pytest.mark.runtime,
]


def report(process: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """The probe's key=value lines (env lines become env:KEY keys)."""
    assert process.returncode == 0, process.stderr
    out: dict[str, str] = {}
    for line in process.stdout.splitlines():
        if line.startswith("env:"):
            key, _, value = line[4:].partition("=")
            out[f"env:{key}"] = value
        else:
            key, _, value = line.partition("=")
            out[key] = value
    return out


def build(root: Path, probe: Path, options: ImageOptions, base: BaseImage | None = None) -> Path:
    layout = Layout.create(root)
    layout.add_manifest(assemble(base, probe, options, layout), "latest")
    return root


def test_scratch_image_runs_as_nonroot_with_runtime_files(
    tmp_path: Path, probe: Path, host_platform: Platform
):
    options = ImageOptions("probe", host_platform, args=("hello", "world"), env={"GREETING": "hi"})
    seen = report(run_image(build(tmp_path / "img", probe, options), "latest", tmp_path))
    assert (seen["uid"], seen["gid"]) == ("65532", "65532")
    assert (seen["user"], seen["home"]) == ("nonroot", "/home/nonroot")
    assert seen["tmp_writable"] == "yes"
    assert seen["tmp_mode"] == "1777"
    assert seen["bin_sh"] == "absent", "no shell in a scratch image"
    assert seen["env:SSL_CERT_FILE"] == "/etc/ssl/certs/ca-certificates.crt"
    assert seen["ssl_cert_file_size"] == str(Path(certifi.where()).stat().st_size)
    assert seen["env:PATH"].endswith(":/app")
    assert seen["env:GREETING"] == "hi"
    assert (seen["arg0"], seen["arg1"], seen["arg2"]) == ("/app/probe", "hello", "world")


def test_image_from_our_archive_runs(tmp_path: Path, probe: Path, host_platform: Platform):
    root = build(tmp_path / "img", probe, ImageOptions("probe", host_platform, epoch=1700000000))
    write_archive(Layout.open(root), tmp_path / "img.tar")
    with open_archive(tmp_path / "img.tar") as extracted:
        seen = report(run_image(extracted.root, "latest", tmp_path))
    assert seen["uid"] == "65532"


def umoci_base(root: Path) -> BaseImage:
    """A base made by an independent tool: a passwd with `app`, Env, User, labels, WorkingDir."""
    return BaseImage.from_layout(Layout.open(make_umoci_base(root)), BASE_TAG)


def test_base_image_env_and_user_merge_at_run_time(
    tmp_path: Path, probe: Path, host_platform: Platform
):
    base = umoci_base(tmp_path / "base")
    options = ImageOptions("probe", host_platform, user="app", env={"EXTRA": "1"})
    seen = report(run_image(build(tmp_path / "img", probe, options, base), "latest", tmp_path))
    assert (seen["uid"], seen["user"]) == ("1000", "app")
    assert seen["env:LANG"] == "C.UTF-8"
    assert seen["env:EXTRA"] == "1"
    assert seen["env:PATH"] == "/usr/bin:/bin:/app"
    assert seen["cwd"] == "/srv"
    assert seen["tmp_mode"] == "1777", "the base had no /tmp, so the layer adds one"
    assert seen["ssl_cert_file_size"] == str(Path(certifi.where()).stat().st_size)


def test_default_user_is_added_to_a_base_passwd(
    tmp_path: Path, probe: Path, host_platform: Platform
):
    base = umoci_base(tmp_path / "base")
    seen = report(
        run_image(build(tmp_path / "img", probe, ImageOptions("probe", host_platform), base),
                  "latest", tmp_path)
    )  # fmt: skip
    assert (seen["uid"], seen["user"], seen["home"]) == ("65532", "nonroot", "/home/nonroot")


def test_probe_needs_nothing_from_the_host(tmp_path: Path, probe: Path):
    seen = report(run_in_chroot(probe, ["x"], tmp_path))
    assert seen["uid"] == "0"
    assert seen["bin_sh"] == "absent"
    assert seen["tmp_writable"] == "yes"
    assert seen["arg1"] == "x"
    assert not any(p.is_mount() for p in tmp_path.glob("chroot-*/proc")), "/proc is unmounted"
