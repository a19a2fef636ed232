"""The blob record's file comes from the cache directory (KRUST_CACHE_DIR, else XDG), passed
to the registry module in its options: registry/ never reads the environment for it."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from hatch_krust import cli
from hatch_krust.building.image import ImagePlan
from hatch_krust.config import KrustConfig
from hatch_krust.flow import destination_for
from hatch_krust.oci.platform import Platform
from hatch_krust.publish.registry import RegistryDestination


def test_a_build_pushes_with_the_record_under_krust_cache_dir(tmp_path: Path) -> None:
    config = KrustConfig(environ={"KRUST_CACHE_DIR": str(tmp_path / "c")})
    chosen = destination_for(ImagePlan(Platform.host(), ("latest",), "reg.example/a"), config)
    assert isinstance(chosen, RegistryDestination)
    expected = tmp_path / "c" / "registry" / "blob-locations.json"
    assert chosen.blob_record == expected
    assert chosen._options().blob_record == expected


def test_xdg_cache_home_is_the_fallback(tmp_path: Path) -> None:
    config = KrustConfig(environ={"XDG_CACHE_HOME": str(tmp_path / "x")})
    chosen = destination_for(ImagePlan(Platform.host(), ("latest",), "reg.example/a"), config)
    assert isinstance(chosen, RegistryDestination)
    assert chosen.blob_record == tmp_path / "x" / "hatch-krust" / "registry" / "blob-locations.json"


def test_the_cli_records_under_krust_cache_dir(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRUST_CACHE_DIR", str(tmp_path / "c"))
    args = argparse.Namespace(authfile=None, insecure_registry=[], jobs=2, quiet=True)
    options = cli._options(args)
    assert options.blob_record == tmp_path / "c" / "registry" / "blob-locations.json"
