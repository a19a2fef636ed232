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


def test_home_comes_from_the_given_environment_not_the_process(tmp_path: Path) -> None:
    from hatch_krust.inputs import default_cache_dir

    assert default_cache_dir({"HOME": str(tmp_path)}) == tmp_path / ".cache" / "hatch-krust"


def test_an_empty_root_with_no_home_pushes_without_a_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A static `hatch-krust` in a chroot: no HOME, and its uid in no password database.
    The record is only a hint, so the push goes on without one (it used to crash)."""
    import pwd

    from hatch_krust.errors import ConfigError
    from hatch_krust.inputs import default_cache_dir

    def no_entry(uid: int) -> pwd.struct_passwd:
        raise KeyError(uid)

    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    for name in ("KRUST_CACHE_DIR", "XDG_CACHE_HOME", "HOME"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="KRUST_CACHE_DIR"):
        default_cache_dir({})
    args = argparse.Namespace(authfile=None, insecure_registry=[], jobs=2, quiet=True)
    assert cli._options(args).blob_record is None
