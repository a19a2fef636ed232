"""`hatch-krust merge`: per-platform images from a CI matrix joined into one index."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hatch_krust.oci.descriptor import Platform
from hatch_krust.oci.layout import Layout, write_archive
from tests.infra.registry import RegistryServer, random_image, random_index

pytestmark = pytest.mark.registry

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64", "v8")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hatch_krust", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def archive_of(tmp: Path, name: str, platform: Platform) -> Path:
    layout = Layout.create(tmp / name)
    random_index(layout, [platform], tag="latest")
    write_archive(layout, tmp / f"{name}.tar")
    return tmp / f"{name}.tar"


def skopeo_raw(ref: str) -> dict[str, object]:
    done = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", ref],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_merge_two_registry_images_into_one_index(registry: RegistryServer, tmp_path: Path) -> None:
    repo = f"{registry.host}/app"
    for name, platform in (("amd64", AMD64), ("arm64", ARM64)):
        pushed = cli(
            "push", f"oci-archive:{archive_of(tmp_path, name, platform)}", f"{repo}:{name}"
        )
        assert pushed.returncode == 0, pushed.stderr
    merged = cli("merge", f"{repo}:multi", f"{repo}:amd64", f"{repo}:arm64", "--tag", "1.0")
    assert merged.returncode == 0, merged.stderr
    reference = merged.stdout.strip()
    assert reference.startswith(f"{repo}@sha256:") and len(merged.stdout.splitlines()) == 1
    index = skopeo_raw(f"docker://{repo}:multi")
    platforms = sorted(
        "/".join(
            filter(
                None,
                (
                    m["platform"]["os"],
                    m["platform"]["architecture"],  # type: ignore[index]
                    m["platform"].get("variant"),
                ),
            )
        )  # type: ignore[index]
        for m in index["manifests"]  # type: ignore[attr-defined]
    )
    assert platforms == ["linux/amd64", "linux/arm64/v8"]
    assert skopeo_raw(f"docker://{repo}:1.0") == index
    for arch in ("amd64", "arm64"):
        seen = subprocess.run(
            [
                "skopeo",
                "inspect",
                "--tls-verify=false",
                "--override-arch",
                arch,
                f"docker://{repo}:multi",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(seen.stdout)["Architecture"] == arch


def test_merge_archives_into_an_archive(tmp_path: Path) -> None:
    first = archive_of(tmp_path, "a", AMD64)
    second = archive_of(tmp_path, "b", ARM64)
    out = tmp_path / "merged.tar"
    merged = cli(
        "merge", f"oci-archive:{out}:multi", f"oci-archive:{first}", f"oci-archive:{second}"
    )
    assert merged.returncode == 0, merged.stderr
    index = skopeo_raw(f"oci-archive:{out}:multi")
    assert len(index["manifests"]) == 2  # type: ignore[arg-type]


def test_merge_refuses_the_same_platform_twice(tmp_path: Path) -> None:
    first = archive_of(tmp_path, "a", AMD64)
    second = archive_of(tmp_path, "b", AMD64)
    out = tmp_path / "merged.tar"
    merged = cli("merge", f"oci-archive:{out}", f"oci-archive:{first}", f"oci-archive:{second}")
    assert merged.returncode == 1
    assert "Traceback" not in merged.stderr
    assert "linux/amd64 appears twice" in merged.stderr, merged.stderr
    assert merged.stdout == ""
    assert not out.exists()


def test_merge_needs_two_sources(tmp_path: Path) -> None:
    merged = cli("merge", f"oci-archive:{tmp_path / 'x.tar'}", f"oci-archive:{tmp_path / 'a.tar'}")
    assert merged.returncode == 1
    assert merged.stderr.strip().splitlines() == [
        "hatch-krust: error: merge needs at least two sources (one per platform) to join"
    ], merged.stderr  # one line: no "Merging 1 images" first


def image_archive(tmp: Path, name: str, platform: Platform) -> tuple[Path, list[str]]:
    """A single-platform image (no index: its platform is in its config) and its layers."""
    layout = Layout.create(tmp / name)
    manifest = random_image(layout, platform=platform, size=1 << 20, tag="latest")
    layers = [d["digest"] for d in layout.read_json(manifest.digest)["layers"]]
    write_archive(layout, tmp / f"{name}.tar")
    return tmp / f"{name}.tar", layers


def test_the_same_platform_is_refused_before_any_layer_moves(
    registry: RegistryServer, tmp_path: Path
) -> None:
    """Issue 12: merge once copied every source (18 MB) before refusing; now it reads
    manifests and configs only. The registry's access log proves no layer was fetched
    and nothing was written."""
    repo = f"{registry.host}/twice"
    layers: list[str] = []
    for name in ("one", "two"):
        archive, its_layers = image_archive(tmp_path, name, AMD64)
        layers += its_layers
        pushed = cli("push", f"oci-archive:{archive}", f"{repo}:{name}")
        assert pushed.returncode == 0, pushed.stderr
    mark = registry.mark()
    merged = cli("merge", f"{registry.host}/joined:multi", f"{repo}:one", f"{repo}:two")
    assert merged.returncode == 1, merged.stderr
    assert (
        f"Platform linux/amd64 appears twice: in {repo}:one and in {repo}:two; merge images "
        "of different platforms only (nothing was copied or pushed)"
    ) in merged.stderr
    requests = registry.requests_since(mark)
    assert any("/manifests/one" in r for r in requests), requests  # it did look
    assert not [r for r in requests if any(layer in r for layer in layers)], requests
    assert not [r for r in requests if r.split(" ", 1)[0] in {"PUT", "POST", "PATCH"}]
    assert not [r for r in requests if "/joined/" in r], requests
