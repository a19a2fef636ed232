"""hatch_krust.freeze.bundle on a made-up freeze: which distributions count as packed."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from hatch_krust.freeze.bundle import (
    bundled_distributions,
    debian_packages,
    packed_sources,
    read_toc,
)
from tests.infra.tools import require_tool


def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")


def install(site: Path, name: str, version: str, files: dict[str, bytes],
            metadata: str = "") -> None:
    dist_info = site / f"{name}-{version}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{metadata}\n"
    )
    rows = []
    for rel, data in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)
        rows.append(f"{rel},{record_hash(data)},{len(data)}")
    metadata_bytes = (dist_info / "METADATA").read_bytes()
    rows.append(f"{dist_info.name}/METADATA,{record_hash(metadata_bytes)},{len(metadata_bytes)}")
    rows.append(f"{dist_info.name}/RECORD,,")
    (dist_info / "RECORD").write_text("\n".join(rows) + "\n")


@pytest.fixture
def env(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "env"
    site = root / "lib" / "python3.11" / "site-packages"
    install(site, "PyYAML", "6.0.2", {"yaml/__init__.py": b"# yaml\n", "yaml/_yaml.so": b"ELF"},
            "License: MIT")
    install(site, "pyinstaller", "6.22.3", {"PyInstaller/loader/pyiboot01_bootstrap.py": b"#"},
            "License-Expression: GPL-2.0-or-later")
    install(site, "setuptools", "80.0", {"setuptools/__init__.py": b"#"})
    install(site, "only_meta", "1.0", {"only_meta/__init__.py": b"#"},
            "Classifier: License :: OSI Approved :: BSD License")
    build = tmp_path / "build"
    build.mkdir()
    pyz = [(m, str(site / p), "PYMODULE") for m, p in (("yaml", "yaml/__init__.py"),)]
    (build / "PYZ-00.toc").write_text(repr((str(build / "PYZ-00.pyz"), pyz)))
    pkg = [
        ("PYZ-00.pyz", str(build / "PYZ-00.pyz"), "PYZ"),
        ("yaml/_yaml.so", str(site / "yaml/_yaml.so"), "EXTENSION"),
        ("pyiboot01_bootstrap", str(site / "PyInstaller/loader/pyiboot01_bootstrap.py"),
         "PYSOURCE"),
        ("only_meta-1.0.dist-info/METADATA", str(site / "only_meta-1.0.dist-info/METADATA"),
         "DATA"),
    ]
    (build / "PKG-00.toc").write_text(repr((str(build / "x.pkg"), {"BINARY": True}, pkg)))
    return root, build


def test_only_distributions_whose_code_was_packed_are_listed(env: tuple[Path, Path]) -> None:
    root, build = env
    assert len(read_toc(build / "PKG-00.toc")) == 4
    sources = packed_sources(build)
    found = bundled_distributions(root, sources)
    # PyInstaller's own loader is packed but it is the freezer; setuptools was not packed;
    # only_meta had only its metadata copied
    assert [d["name"] for d in found] == ["PyYAML"]
    pyyaml = found[0]
    assert pyyaml["license"] == "MIT"
    assert [f["path"] for f in pyyaml["files"]] == ["yaml/__init__.py", "yaml/_yaml.so"]
    assert pyyaml["files"][0]["sha256"] == hashlib.sha256(b"# yaml\n").hexdigest()
    assert pyyaml["files"][0]["sha1"] == hashlib.sha1(b"# yaml\n").hexdigest()


def test_a_missing_or_broken_toc_is_empty(tmp_path: Path) -> None:
    assert read_toc(tmp_path / "absent.toc") == []
    (tmp_path / "bad.toc").write_text("not python (")
    assert read_toc(tmp_path / "bad.toc") == []


def test_debian_packages_knows_the_c_library() -> None:
    require_tool("dpkg")
    libc = next(p for p in ("/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6")
                if Path(p).exists())
    found = debian_packages([libc, "/nonexistent/libfoo.so"])
    assert found[libc]["package"] == "libc6"
    assert found[libc]["source"] == "glibc"
    assert "/nonexistent/libfoo.so" not in found
