"""What a minimal root lacks: LANG and the C.UTF-8 locale, the zone database; only where the
base lacks them, and in the image `assemble` writes."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from hatch_krust.oci.assemble import ImageOptions, assemble
from hatch_krust.oci.basefs import BaseFiles
from hatch_krust.oci.layout import Layout
from hatch_krust.oci.platform import Platform
from hatch_krust.oci.root_files import (
    HOST_LOCALE,
    HOST_ZONEINFO,
    root_files,
    sets_locale,
    zoneinfo_entries,
)


def test_a_locale_in_the_base_or_the_env_option_is_respected() -> None:
    assert sets_locale(["PATH=/bin", "LC_ALL=de_DE.UTF-8"], {})
    assert sets_locale([], {"LANG": "C"})
    assert not sets_locale(["PATH=/bin"], {"TZ": "UTC"})


def test_scratch_gets_lang_and_the_locale_files() -> None:
    found = root_files(BaseFiles(), [], {}, locale=True, zoneinfo=False)
    assert found.env == (("LANG", "C.UTF-8"),)
    paths = {e.path for e in found.locale}
    assert "/usr/lib/locale/C.utf8/LC_CTYPE" in paths, sorted(paths)[:5]
    assert found.zoneinfo == ()
    assert all(e.source is not None and e.mode == 0o644 for e in found.locale)


def test_a_base_with_a_locale_gets_nothing() -> None:
    found = root_files(BaseFiles(), ["LANG=C.UTF-8"], {}, locale=True, zoneinfo=False)
    assert (found.env, found.locale) == ((), ())
    files = BaseFiles.of_paths({"usr/lib/locale/C.utf8"})
    assert root_files(files, [], {}, locale=True, zoneinfo=False).locale == ()


def test_the_zone_database_leaves_out_its_copies_and_a_base_that_has_one() -> None:
    paths = {e.path for e in zoneinfo_entries(BaseFiles())}
    assert "/usr/share/zoneinfo/Europe/Oslo" in paths
    assert not any(
        p.startswith(("/usr/share/zoneinfo/right/", "/usr/share/zoneinfo/posix/")) for p in paths
    )
    assert zoneinfo_entries(BaseFiles.of_paths({"usr/share/zoneinfo"})) == []


def _layer_names(layout: Layout, digest: str) -> list[str]:
    with layout.open_blob(digest) as blob, tarfile.open(fileobj=io.BytesIO(blob.read())) as tar:
        return tar.getnames()


def test_assemble_ships_them_on_scratch_and_names_the_zones(tmp_path: Path) -> None:
    assert HOST_LOCALE.is_dir() and HOST_ZONEINFO.is_dir(), "the build host's files"
    executable = tmp_path / "hello"
    executable.write_bytes(b"\x7fELF not really")
    layout = Layout.create(tmp_path / "layout")
    shipped: list[dict[str, object]] = []
    options = ImageOptions(
        name="hello",
        platform=Platform("linux", "amd64"),
        locale=True,
        zoneinfo=True,
        shipped=shipped,
    )
    index = assemble(None, executable, options, layout)
    manifest = layout.read_json(layout.read_json(index.digest)["manifests"][0]["digest"])
    config = layout.read_json(manifest["config"]["digest"])
    assert "LANG=C.UTF-8" in config["config"]["Env"]
    zones, app = (_layer_names(layout, layer["digest"]) for layer in manifest["layers"])
    assert "usr/share/zoneinfo/Europe/Oslo" in zones
    assert "usr/lib/locale/C.utf8/LC_CTYPE" in app and "app/hello" in app
    assert [c["name"] for c in shipped] == ["zoneinfo"]
    assert f"sha256:{shipped[0]['sha256']}" == config["rootfs"]["diff_ids"][0]
