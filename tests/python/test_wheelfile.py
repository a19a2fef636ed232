from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from hatch_krust.errors import FreezeError
from hatch_krust.python.wheelfile import WheelContents, read_wheel


def write_wheel(path: Path, record: list[str], extra: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name in record:
            if not name.endswith("/RECORD"):
                archive.writestr(name, "")
        for name, text in (extra or {}).items():
            archive.writestr(name, text)
        archive.writestr("demo-1.0.dist-info/RECORD", "\n".join(f"{n},," for n in record) + "\n")
    return path


def test_demo_wheel(demo_wheel: Path) -> None:
    assert read_wheel(demo_wheel) == WheelContents(packages=("krust_demo",), modules=())


def test_packages_modules_extensions_and_data_dirs(tmp_path: Path) -> None:
    wheel = write_wheel(
        tmp_path / "demo-1.0-py3-none-any.whl",
        [
            "pkg/__init__.py",
            "pkg/data/file.txt",
            "nspkg/sub/mod.py",
            "single.py",
            "fast.cpython-311-x86_64-linux-gnu.so",
            "demo.pth",
            "demo-1.0.data/purelib/other/__init__.py",
            "demo-1.0.data/platlib/native.abi3.so",
            "demo-1.0.data/scripts/tool",
            "demo-1.0.data/data/share/x.txt",
            "demo-1.0.dist-info/METADATA",
            "demo-1.0.dist-info/RECORD",
        ],
    )
    assert read_wheel(wheel) == WheelContents(
        packages=("nspkg", "other", "pkg"), modules=("fast", "native", "single")
    )


def test_top_level_txt_adds_names(tmp_path: Path) -> None:
    wheel = write_wheel(
        tmp_path / "demo-1.0-py3-none-any.whl",
        ["pkg/__init__.py"],
        {"demo-1.0.dist-info/top_level.txt": "pkg\nlegacy\n"},
    )
    assert read_wheel(wheel).packages == ("legacy", "pkg")


def test_not_a_wheel(tmp_path: Path) -> None:
    path = tmp_path / "broken.whl"
    path.write_text("not a zip")
    with pytest.raises(FreezeError, match=r"Cannot read the wheel .*broken\.whl"):
        read_wheel(path)
