"""Each layer uploaded once per registry: pushes mount blobs from the repositories the blob
record saw them in (real docker-registry, anonymous and token auth; skopeo reads back)."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING

import pytest

from hatch_krust.oci.layout import Layout
from hatch_krust.registry import Options, pull_image, pull_manifest, push_layout
from hatch_krust.registry.blobrecord import read_record, write_record
from tests.infra.registry import random_image
from tests.registry.test_auth import docker_config

if TYPE_CHECKING:
    from pathlib import Path

    from hatch_krust.oci.descriptor import Descriptor
    from tests.infra.registry import RegistryServer

pytestmark = [pytest.mark.registry]


def blob_digests(layout: Layout, image: Descriptor) -> list[str]:
    manifest = json.loads(layout.read_blob(image.digest))
    return [manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])]


def blob_uploads(lines: list[str]) -> list[str]:
    """Requests that carry blob bytes: PATCH to a session, PUT that closes one."""
    return [line for line in lines if line.startswith("PATCH")
            or (line.startswith("PUT") and "/blobs/uploads/" in line)]


def mounts(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("POST") and "mount=" in line]


def skopeo_digest(server: RegistryServer, name: str, *creds: str) -> str:
    done = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", *creds, "--format", "{{.Digest}}",
         f"docker://{server.host}/{name}"],
        capture_output=True, check=False, timeout=60, text=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_second_push_mounts_every_blob(registry: RegistryServer, layout: Layout,
                                       tmp_path: Path) -> None:
    options = Options(blob_record=tmp_path / "cache" / "blob-locations.json")
    image = random_image(layout, layers=3, size=300_000, tag="v1")
    push_layout(layout, image, f"{registry.host}/once/first:v1", options=options)
    mark = registry.mark()
    push_layout(layout, image, f"{registry.host}/once/second:v1", options=options)
    lines = registry.requests_since(mark)
    assert len(mounts(lines)) == 4  # the config and three layers
    assert all("from=once%2Ffirst" in line or "from=once/first" in line
               for line in mounts(lines))
    assert blob_uploads(lines) == []
    assert skopeo_digest(registry, "once/second:v1") == image.digest
    record = read_record(tmp_path / "cache" / "blob-locations.json")
    for digest in blob_digests(layout, image):
        assert record[digest][:2] == [(registry.host, "once/second"),
                                      (registry.host, "once/first")]


def test_without_a_record_the_second_push_uploads(registry: RegistryServer,
                                                  layout: Layout) -> None:
    """The control: what the record saves (and that the log check above can fail)."""
    image = random_image(layout, layers=1, tag="v1")
    push_layout(layout, image, f"{registry.host}/norecord/first:v1")
    mark = registry.mark()
    push_layout(layout, image, f"{registry.host}/norecord/second:v1")
    lines = registry.requests_since(mark)
    assert mounts(lines) == []
    assert len([line for line in blob_uploads(lines) if line.startswith("PUT")]) == 2


def test_token_auth_second_push_mounts(token_registry: RegistryServer, layout: Layout,
                                       tmp_path: Path, clean_env: Path) -> None:
    token_server = token_registry.token_server
    assert token_server is not None
    docker_config(clean_env, token_registry.host, "alice", "wonderland")
    path = tmp_path / "cache" / "blob-locations.json"
    options = Options(blob_record=path)
    image = random_image(layout, layers=2, size=100_000, tag="v1")
    push_layout(layout, image, f"{token_registry.host}/tokonce/first:v1", options=options)
    before = len(token_server.requests)
    mark = token_registry.mark()
    push_layout(layout, image, f"{token_registry.host}/tokonce/second:v1", options=options)
    lines = token_registry.requests_since(mark)
    assert len(mounts(lines)) == 3
    assert blob_uploads(lines) == []
    scopes = [r["query"]["scope"] for r in token_server.requests[before:]]
    assert ["repository:tokonce/second:pull,push", "repository:tokonce/first:pull"] in scopes
    assert skopeo_digest(token_registry, "tokonce/second:v1",
                         "--creds", "alice:wonderland") == image.digest
    text = path.read_text()
    assert "alice" not in text
    assert "wonderland" not in text
    assert "token" not in text.replace("tokonce", "")


def test_a_stale_record_falls_back_to_upload(registry: RegistryServer, layout: Layout,
                                             tmp_path: Path) -> None:
    path = tmp_path / "blob-locations.json"
    image = random_image(layout, layers=2, tag="v1")
    digests = blob_digests(layout, image)
    stale = {d: [(registry.host, "stale/gone"), (registry.host, "stale/never")]
             for d in digests}
    write_record(path, stale)
    mark = registry.mark()
    push_layout(layout, image, f"{registry.host}/stale/app:v1",
                options=Options(blob_record=path))
    lines = registry.requests_since(mark)
    assert len(mounts(lines)) == 6  # both stale entries tried, per blob
    assert len([line for line in blob_uploads(lines) if line.startswith("PUT")]) == 3
    assert skopeo_digest(registry, "stale/app:v1") == image.digest
    record = read_record(path)
    assert all(record[d] == [(registry.host, "stale/app")] for d in digests)


def test_a_corrupt_record_is_ignored_and_rewritten(registry: RegistryServer,
                                                   layout: Layout, tmp_path: Path) -> None:
    path = tmp_path / "blob-locations.json"
    path.write_bytes(b'{"version": 1, "blobs": {"sha256:' + b"\xff" * 40)
    image = random_image(layout, layers=1, tag="v1")
    digest = push_layout(layout, image, f"{registry.host}/corrupt/app:v1",
                         options=Options(blob_record=path))
    assert digest == image.digest
    record = read_record(path)
    assert sorted(record) == sorted(blob_digests(layout, image))


def test_never_mounts_across_registries(registry: RegistryServer, layout: Layout,
                                        tmp_path: Path) -> None:
    path = tmp_path / "blob-locations.json"
    image = random_image(layout, layers=1, tag="v1")
    push_layout(layout, image, f"{registry.host}/across/src:v1")
    write_record(path, {d: [("127.0.0.2:5000", "across/src"), ("other.example", "across/src")]
                        for d in blob_digests(layout, image)})
    mark = registry.mark()
    push_layout(layout, image, f"{registry.host}/across/dst:v1",
                options=Options(blob_record=path))
    assert mounts(registry.requests_since(mark)) == []


def test_a_pulled_base_is_mounted_from(registry: RegistryServer, layout: Layout,
                                       tmp_path: Path) -> None:
    """Pulling a base (even manifest and config only) records its layers' repository."""
    path = tmp_path / "blob-locations.json"
    base = random_image(layout, layers=2, size=50_000, tag="base")
    push_layout(layout, base, f"{registry.host}/pulled/base:v1")  # no record
    cache = Layout.create(tmp_path / "bases")
    pull_image(f"{registry.host}/pulled/base:v1", cache, layers=False,
               options=Options(blob_record=path))
    assert set(read_record(path)) == set(blob_digests(layout, base))
    mark = registry.mark()
    push_layout(layout, base, f"{registry.host}/pulled/app:v1",
                options=Options(blob_record=path))
    lines = registry.requests_since(mark)
    assert len(mounts(lines)) == 3
    assert blob_uploads(lines) == []
    assert pull_manifest(f"{registry.host}/pulled/app:v1").digest == base.digest


def test_the_base_pull_of_a_build_records_under_the_cache(registry: RegistryServer,
                                                          layout: Layout, tmp_path: Path) -> None:
    from hatch_krust.building.bases import pull_base
    from hatch_krust.inputs import blob_record_file
    from hatch_krust.oci.descriptor import Platform
    from hatch_krust.oci.reference import parse_reference

    base = random_image(layout, layers=1, tag="base")
    push_layout(layout, base, f"{registry.host}/cached/base:v1")
    cache_root = tmp_path / "krust-cache"
    pull_base(parse_reference(f"{registry.host}/cached/base:v1"),
              Platform("linux", "amd64"), cache_root, (), {})
    record = read_record(blob_record_file(cache_root))
    assert set(record) == set(blob_digests(layout, base))
    assert {entries[0] for entries in record.values()} == {(registry.host, "cached/base")}


def test_the_cli_keeps_the_record_under_krust_cache_dir(
    registry: RegistryServer, layout: Layout, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.registry.test_cli import run_cli

    monkeypatch.setenv("KRUST_CACHE_DIR", str(tmp_path / "krust-cache"))
    image = random_image(layout, layers=2, size=20_000, tag="v1")
    first = run_cli("push", "-q", f"oci:{layout.root}:v1", f"{registry.host}/clirec/a:v1")
    assert first.returncode == 0, first.stderr
    mark = registry.mark()
    second = run_cli("push", "-q", f"oci:{layout.root}:v1", f"{registry.host}/clirec/b:v1")
    assert second.returncode == 0, second.stderr
    lines = registry.requests_since(mark)
    assert len(mounts(lines)) == 3
    assert blob_uploads(lines) == []
    record = read_record(tmp_path / "krust-cache" / "registry" / "blob-locations.json")
    assert set(record) == set(blob_digests(layout, image))


def test_no_pull_right_on_the_recorded_source_falls_back_to_upload(
    token_registry: RegistryServer, layout: Layout, tmp_path: Path, clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The token for a mount must grant pull on the source; when the token server
    withholds it, the registry refuses the mount and the blob is uploaded."""
    token_server = token_registry.token_server
    assert token_server is not None
    docker_config(clean_env, token_registry.host, "alice", "wonderland")
    path = tmp_path / "blob-locations.json"
    image = random_image(layout, layers=1, size=10_000, tag="v1")
    push_layout(layout, image, f"{token_registry.host}/tokdeny/src:v1",
                options=Options(blob_record=path))
    issue = token_server.issue

    def no_pull_on_src(user: str, scopes: list[str]) -> str:
        return issue(user, [s for s in scopes if not s.startswith("repository:tokdeny/src:")])

    monkeypatch.setattr(token_server, "issue", no_pull_on_src)
    mark = token_registry.mark()
    push_layout(layout, image, f"{token_registry.host}/tokdeny/dst:v1",
                options=Options(blob_record=path))
    lines = token_registry.requests_since(mark)
    assert mounts(lines)  # tried, refused
    assert len([line for line in blob_uploads(lines) if line.startswith("PUT")]) == 2
    assert skopeo_digest(token_registry, "tokdeny/dst:v1",
                         "--creds", "alice:wonderland") == image.digest
    record = read_record(path)
    assert all(entries[0] == (token_registry.host, "tokdeny/dst") for entries in record.values())
