"""Reading a base image's Python from its layers alone (hatch_krust.layered.base_python).

The layers are written here from this machine's real files (Debian's /usr/bin/python3.11
and its libc.so.6), so the ELF and symbol-version reading meets real binaries; an arm64
program is stood in for by a bare ELF header, which is all the reader looks at for it.
"""

from __future__ import annotations

import io
import os
import platform
import struct
import tarfile
from pathlib import Path

import pytest

from hatch_krust.errors import ConfigError
from hatch_krust.layered.base_python import BasePython, choose_python, read_tree
from hatch_krust.oci.descriptor import Descriptor
from hatch_krust.oci.layout import Layout

DEBIAN_PYTHON = Path("/usr/bin/python3.11")
LIBC = Path("/lib/x86_64-linux-gnu/libc.so.6")
TAR_LAYER = "application/vnd.oci.image.layer.v1.tar"
STATUS = (
    "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9\n\n"
    "Package: python3.11-minimal\nStatus: install ok installed\nArchitecture: amd64\n"
    "Version: 3.11.2-6+deb12u9\nDescription: Minimal subset\n multi-line\n"
)

pytestmark = pytest.mark.skipif(
    not (DEBIAN_PYTHON.is_file() and LIBC.is_file()) or platform.machine() != "x86_64",
    reason="needs a Debian amd64 machine with python3.11",
)


def fake_elf(machine: int) -> bytes:
    """A 64-bit little-endian ELF header for `machine` (0xB7: aarch64), nothing else."""
    ident = b"\x7fELF\x02\x01\x01" + bytes(9)
    return ident + struct.pack("<HHIQQQIHHHHHH", 2, machine, 1, 0, 0, 0, 0, 64, 56, 0, 64, 0, 0)


def layer(layout: Layout, files: dict[str, bytes | Path | str]) -> Descriptor:
    """A tar layer: bytes or a host file's content, or a str (a symlink target)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, value in files.items():
            info = tarfile.TarInfo(name)
            if isinstance(value, str):
                info.type, info.linkname = tarfile.SYMTYPE, value
                tar.addfile(info)
                continue
            data = value.read_bytes() if isinstance(value, Path) else value
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    data = raw.getvalue()
    return Descriptor(TAR_LAYER, layout.write_blob(data), len(data))


def tree_of(tmp_path: Path, *layers: dict[str, bytes | Path | str], env: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    layout = Layout.create(tmp_path / "base")
    return read_tree(layout, [layer(layout, files) for files in layers], env)


def debian(**extra: bytes | Path | str) -> dict[str, bytes | Path | str]:
    return {
        "usr/bin/python3.11": DEBIAN_PYTHON,
        "usr/bin/python3": "python3.11",
        "lib/x86_64-linux-gnu/libc.so.6": LIBC,
        "var/lib/dpkg/status": STATUS.encode(),
        **extra,
    }


def test_debian_base(tmp_path: Path) -> None:
    python = choose_python(tree_of(tmp_path, debian()), None, "Option `python`")
    assert python is not None
    assert python.executable == "/usr/bin/python3.11"
    assert (python.machine, python.libc, python.version) == ("x86_64", "glibc", "3.11.2")
    host_glibc = tuple(int(n) for n in os.confstr("CS_GNU_LIBC_VERSION").split()[1].split("."))
    assert python.libc_version == host_glibc[:2]
    assert python.abi == "cp311"
    assert python.package is not None
    assert (python.package.name, python.package.version) == (
        "python3.11-minimal",
        "3.11.2-6+deb12u9",
    )
    assert python.platform_tags[0] == f"manylinux_2_{host_glibc[1]}_x86_64"
    assert python.platform_tags[-1] == "manylinux_2_17_x86_64"


def test_symlink_named_by_the_option(tmp_path: Path) -> None:
    python = choose_python(tree_of(tmp_path, debian()), "/usr/bin/python3", "Option `python`")
    assert python is not None
    assert python.executable == "/usr/bin/python3.11"


def test_usr_local_takes_python_version_and_no_package(tmp_path: Path) -> None:
    files = {"usr/local/bin/python3.11": DEBIAN_PYTHON, "lib/x86_64-linux-gnu/libc.so.6": LIBC}
    files["var/lib/dpkg/status"] = STATUS.encode()
    tree = tree_of(tmp_path, files, env=("PATH=/usr/bin", "PYTHON_VERSION=3.11.9"))
    python = choose_python(tree, None, "Option `python`")
    assert python is not None
    assert (python.executable, python.version, python.package) == (
        "/usr/local/bin/python3.11", "3.11.9", None,
    )  # fmt: skip


def test_version_from_the_binary_when_nothing_else_says(tmp_path: Path) -> None:
    files = {"usr/bin/python3.11": DEBIAN_PYTHON, "lib/x86_64-linux-gnu/libc.so.6": LIBC}
    python = choose_python(tree_of(tmp_path, files), None, "Option `python`")
    assert python is not None
    assert python.version == platform_version_of(DEBIAN_PYTHON)


def platform_version_of(binary: Path) -> str:
    import subprocess

    out = subprocess.run([str(binary), "-c", "import platform; print(platform.python_version())"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return out.stdout.strip()


def test_no_python_is_none(tmp_path: Path) -> None:
    tree = tree_of(tmp_path, {"lib/x86_64-linux-gnu/libc.so.6": LIBC, "etc/passwd": b"root\n"})
    assert choose_python(tree, None, "Option `python`") is None


def test_whiteout_removes_the_python(tmp_path: Path) -> None:
    tree = tree_of(tmp_path, debian(), {"usr/bin/.wh.python3.11": b"", "usr/bin/.wh.python3": b""})
    assert choose_python(tree, None, "Option `python`") is None


def test_two_pythons_need_the_option(tmp_path: Path) -> None:
    tree = tree_of(tmp_path, debian(**{"usr/local/bin/python3.12": DEBIAN_PYTHON}))
    with pytest.raises(ConfigError) as caught:
        choose_python(tree, None, "Option `python`")
    message = str(caught.value)
    assert "/usr/bin/python3.11" in message and "/usr/local/bin/python3.12" in message
    assert "python = " in message and "KRUST_PYTHON" in message
    chosen = choose_python(tree, "/usr/local/bin/python3.12", "Option `python`")
    assert chosen is not None and chosen.minor == "3.12"


def test_a_path_the_base_lacks(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Environment variable `KRUST_PYTHON` names '/opt/py'"):
        choose_python(tree_of(tmp_path, debian()), "/opt/py", "Environment variable `KRUST_PYTHON`")


def test_musl_aarch64(tmp_path: Path) -> None:
    files = {
        "usr/bin/python3.12": fake_elf(0xB7),
        "lib/ld-musl-aarch64.so.1": b"\x7fELF..\x001.2.5\x00",
        "lib/apk/db/installed": b"P:musl\nV:1.2.5-r0\n\nP:python-3.12\nV:3.12.7-r1\nA:aarch64\n",
    }
    python = choose_python(tree_of(tmp_path, files), None, "Option `python`")
    assert python is not None
    assert (python.machine, python.libc, python.libc_version) == ("aarch64", "musl", (1, 2))
    assert python.version == "3.12.7"
    assert python.package is not None and python.package.kind == "apk"
    assert python.uv_platform == "aarch64-unknown-linux-musl"
    assert python.platform_tags == ("musllinux_1_2_aarch64", "musllinux_1_1_aarch64")


def test_arm64_python_needs_an_arm64_libc(tmp_path: Path) -> None:
    files = {"usr/bin/python3.11": fake_elf(0xB7), "lib/x86_64-linux-gnu/libc.so.6": LIBC}
    with pytest.raises(Exception, match="no C library"):
        choose_python(tree_of(tmp_path, files), None, "Option `python`")


@pytest.mark.parametrize(
    ("glibc", "expected"),
    [((2, 36), "x86_64-manylinux_2_36"), ((2, 30), "x86_64-manylinux_2_28"),
     ((2, 27), "x86_64-manylinux_2_17"), ((2, 45), "x86_64-manylinux_2_40")],
)  # fmt: skip
def test_uv_platform_levels(glibc: tuple[int, int], expected: str) -> None:
    assert (
        BasePython("/usr/bin/python3.11", "3.11.2", "x86_64", "glibc", glibc).uv_platform
        == expected
    )


def test_uv_cannot_target_other_machines() -> None:
    with pytest.raises(ConfigError, match="merge"):
        _ = BasePython("/usr/bin/python3.11", "3.11.2", "s390x", "glibc", (2, 36)).uv_platform


def test_a_layer_without_its_end_blocks_is_read_as_far_as_it_goes(tmp_path: Path) -> None:
    """umoci 0.4 ends layers early (no final padding, no end-of-archive blocks); runtimes
    accept that, and so does the reader: the members before the end stand."""
    layout = Layout.create(tmp_path / "base")
    whole = layer(layout, {**debian(), "etc/last": b"x" * 100})
    data = layout.blob_path(whole.digest).read_bytes()
    cut = data[: data.rindex(b"x" * 100) + 10]  # inside the last member's data
    truncated = Descriptor(TAR_LAYER, layout.write_blob(cut), len(cut))
    python = choose_python(read_tree(layout, [truncated]), None, "Option `python`")
    assert python is not None and python.version == "3.11.2"


def test_an_opaque_directory_hides_what_the_layers_below_put_there(tmp_path: Path) -> None:
    lower = debian(**{"usr/local/bin/python3.12": DEBIAN_PYTHON})
    upper = {"usr/local/bin/.wh..wh..opq": b"", "usr/local/bin/tool": b"#!/bin/sh\n"}
    python = choose_python(tree_of(tmp_path, lower, upper), None, "Option `python`")
    assert python is not None and python.executable == "/usr/bin/python3.11"
