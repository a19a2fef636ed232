"""What a minimal root lacks: LANG and the C.UTF-8 locale, the zone database; only where the
base lacks them, and in the image `assemble` writes."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

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


TZDATA_STATUS = """Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u10

Package: tzdata
Status: install ok installed
Priority: required
Architecture: all
Multi-Arch: foreign
Version: 2025b-0+deb12u2
Description: time zone and daylight-saving time data
"""


def _host_root(tmp_path: Path, *, status: str | None, listed: bool = True) -> Path:
    """A build host's root: a zone database, and a dpkg database that may name it."""
    root = tmp_path / "host"
    zone = root / "usr/share/zoneinfo/Europe/Oslo"
    zone.parent.mkdir(parents=True)
    zone.write_bytes(b"TZif2 not really")
    dpkg = root / "var/lib/dpkg"
    (dpkg / "info").mkdir(parents=True)
    if status is not None:
        (dpkg / "status").write_text(status)
    files = ["/.", "/usr", "/usr/share", "/usr/share/zoneinfo", "/usr/share/zoneinfo/Europe"]
    (dpkg / "info/tzdata.list").write_text("\n".join(files if listed else files[:3]) + "\n")
    return root


def _shipped_zones(tmp_path: Path, host_root: Path) -> list[dict[str, object]]:
    executable = tmp_path / "hello"
    executable.write_bytes(b"\x7fELF not really")
    shipped: list[dict[str, object]] = []
    options = ImageOptions(
        name="hello",
        platform=Platform("linux", "arm64"),
        zoneinfo=True,
        shipped=shipped,
        host_root=host_root,
    )
    layout = Layout.create(tmp_path / "layout")
    index = assemble(None, executable, options, layout)
    manifest = layout.read_json(layout.read_json(index.digest)["manifests"][0]["digest"])
    with layout.open_blob(manifest["layers"][0]["digest"]) as blob, tarfile.open(
        fileobj=io.BytesIO(blob.read())
    ) as tar:
        zones = tar.getnames()
        if "var/lib/dpkg/status.d/tzdata" in zones:
            stanza = tar.extractfile("var/lib/dpkg/status.d/tzdata")
            assert stanza is not None
            (tmp_path / "layout-tzdata").write_bytes(stanza.read())
    # the one zone of the root given, not this machine's hundreds
    assert [n for n in zones if n.count("/") > 3 and "zoneinfo" in n] == [
        "usr/share/zoneinfo/Europe/Oslo"
    ]
    return shipped


def test_the_zone_layer_names_the_hosts_debian_tzdata_package(tmp_path: Path) -> None:
    """The SBOM entry names the package; the layer carries its stanza for scanners, the
    bytes the SBOM lists (attest.scanner_files)."""
    from hatch_krust.attest.scanner_files import scanner_files

    shipped = _shipped_zones(tmp_path, _host_root(tmp_path, status=TZDATA_STATUS))
    stanza = (tmp_path / "layout-tzdata").read_bytes()
    assert stanza == dict(scanner_files({"native": shipped}))["/var/lib/dpkg/status.d/tzdata"]
    assert [c["name"] for c in shipped] == ["zoneinfo"]
    assert shipped[0]["platform"] == "linux/arm64"  # the image that got it
    assert shipped[0]["debian"] == {
        "package": "tzdata",
        "version": "2025b-0+deb12u2",
        "architecture": "all",
        "source": "",
    }


@pytest.mark.parametrize(
    ("status", "listed"),
    [
        (None, True),  # no dpkg status
        (TZDATA_STATUS.replace("ok installed\nPriority", "ok config-files\nPriority"), True),
        (TZDATA_STATUS, False),  # tzdata does not list /usr/share/zoneinfo
    ],
)
def test_zones_no_dpkg_package_names_have_no_debian_package(
    tmp_path: Path, status: str | None, listed: bool
) -> None:
    shipped = _shipped_zones(tmp_path, _host_root(tmp_path, status=status, listed=listed))
    assert [c["name"] for c in shipped] == ["zoneinfo"] and "debian" not in shipped[0]
    assert not (tmp_path / "layout-tzdata").exists()  # no stanza in the layer either
