"""Cache hits are verified, not trusted (issue 11, item 10): a damaged executable entry or a
damaged cached base is a miss with a reason, never served."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hatch_krust.building.bases import pull_base, record_path
from hatch_krust.errors import KrustError
from hatch_krust.formats.cache import ExecutableCache, cache_key
from hatch_krust.oci.descriptor import Platform
from hatch_krust.oci.layout import Layout, reachable_blobs
from hatch_krust.oci.reference import parse_reference
from tests.oci.images import make_base

AMD64 = Platform("linux", "amd64")


def stored(tmp_path: Path) -> tuple[ExecutableCache, str, Path]:
    cache = ExecutableCache(tmp_path / "cache")
    key = cache_key({"k": 1})
    exe = tmp_path / "app"
    exe.write_bytes(b"\x7fELF" + bytes(range(256)) * 64)
    cache.put(key, exe, {"tools": {}})
    return cache, key, cache.root / key[:2] / key


def test_a_sound_entry_is_served_and_records_its_digest(tmp_path: Path):
    cache, key, _ = stored(tmp_path)
    hit, problem = cache.lookup(key)
    assert hit is not None
    assert problem == ""
    assert len(hit.meta["sha256"]) == 64
    assert cache.lookup(cache_key({"other": 1})) == (None, "")  # a plain miss: no warning


def test_same_size_other_bytes_is_a_miss_with_a_reason(tmp_path: Path):
    cache, key, entry = stored(tmp_path)
    executable = entry / "app"
    executable.write_bytes(bytes(executable.stat().st_size))  # same size, not the same file
    hit, problem = cache.lookup(key)
    assert hit is None
    assert "does not match its recorded digest" in problem
    assert cache.get(key) is None


@pytest.mark.parametrize(
    "name", ["../../../../etc/passwd", "/etc/passwd", "..", "sub/app", "meta.json", "", 5, None]
)
def test_an_executable_name_that_is_not_a_plain_file_name_is_a_miss(tmp_path: Path, name):  # type: ignore[no-untyped-def]
    cache, key, entry = stored(tmp_path)
    meta = json.loads((entry / "meta.json").read_text())
    meta["executable"] = name
    (entry / "meta.json").write_text(json.dumps(meta))
    hit, problem = cache.lookup(key)
    assert hit is None
    assert "unusable meta.json" in problem


def test_a_symlinked_executable_is_a_miss(tmp_path: Path):
    cache, key, entry = stored(tmp_path)
    outside = tmp_path / "outside"
    (entry / "app").rename(outside)
    (entry / "app").symlink_to(outside)
    assert cache.lookup(key)[0] is None


@pytest.mark.parametrize(
    ("meta", "problem"),
    [
        (b"[1]", "has an unusable meta.json"),
        (b"\xff", "has an unusable meta.json"),
        (b"{", "has an unusable meta.json"),
        (b'{"executable": "app", "size": 1040}', "records no digest (an older hatch-krust)"),
    ],
)
def test_a_broken_meta_json_is_a_miss(tmp_path: Path, meta: bytes, problem: str):
    cache, key, entry = stored(tmp_path)
    (entry / "meta.json").write_bytes(meta)
    assert cache.lookup(key) == (None, f"The cache entry {entry} {problem}; freezing again")


def test_a_damaged_entry_is_replaced_by_the_next_put(tmp_path: Path):
    cache, key, entry = stored(tmp_path)
    (entry / "app").write_bytes(b"tampered")
    fresh = tmp_path / "app"
    cache.put(key, fresh, {})
    hit = cache.get(key)
    assert hit is not None
    assert hit.executable.read_bytes() == fresh.read_bytes()


# --- cached base images ---------------------------------------------------------------------

UNREACHABLE = "127.0.0.1:9"  # discard port: nothing listens; a served base never asks it


def cached_base(tmp_path: Path) -> tuple[Path, Layout, object]:
    """A digest-pinned base as `pull_base` leaves it in the cache, without a registry."""
    cache_root = tmp_path / "cache"
    reference = parse_reference(f"{UNREACHABLE}/base@sha256:{'a' * 64}")
    key, record = record_path(cache_root, reference, AMD64)
    entry = make_base(cache_root / "bases", [{"etc/": None, "etc/os-release": b"ID=test\n"}],
                      tag=key, as_index=False)
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"manifest": entry, "base": f"sha256:{'a' * 64}"}))
    return cache_root, Layout.open(cache_root / "bases"), reference


def test_a_sound_cached_base_is_served_offline(tmp_path: Path):
    cache_root, _, reference = cached_base(tmp_path)
    base = pull_base(reference, AMD64, cache_root, ())  # type: ignore[arg-type]
    assert base.from_cache
    assert base.warning == ""


@pytest.mark.parametrize("which", ["layer", "config", "manifest"])
def test_a_damaged_cached_base_is_not_served(
    tmp_path: Path, which: str, monkeypatch: pytest.MonkeyPatch
):
    cache_root, layout, reference = cached_base(tmp_path)
    manifest = layout.resolve(None)
    assert reachable_blobs(layout)  # sound before the damage
    document = layout.read_json(manifest.digest)
    digest = {
        "layer": document["layers"][0]["digest"],
        "config": document["config"]["digest"],
        "manifest": manifest.digest,
    }[which]
    blob = layout.blob_path(digest)
    blob.write_bytes(bytes(blob.stat().st_size))  # same size, other bytes
    pulls: list[str] = []

    def pull_image(ref: object, *args: object, **kwargs: object) -> None:
        pulls.append(str(ref))
        message = "went to the registry"
        raise KrustError(message)

    monkeypatch.setattr("hatch_krust.registry.api.pull_image", pull_image)
    with pytest.raises(KrustError, match="went to the registry"):
        pull_base(reference, AMD64, cache_root, ())  # type: ignore[arg-type]
    assert pulls == [str(reference)], "a damaged cache is a miss: the base is pulled again"
    assert not blob.exists(), "the damaged blob is removed, so the next pull fetches it"
