"""Leftovers of a killed build are removed on the next run (issue 21 item 13): a
`.krust-build-*` directory or a `.partial` file older than the stale age and not locked.
Fresh ones and ones a running build holds (a real second process) are kept."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hatch_krust import leftovers
from hatch_krust.formats.cache import ExecutableCache
from hatch_krust.layered import LayerPlan, build_layer
from hatch_krust.layered.interpreter import HostInterpreter, InterpreterInfo
from hatch_krust.oci.layer import bytes_entry

OLD = time.time() - 2 * leftovers.STALE_AFTER


def _leftover(path: Path, *, old: bool, directory: bool) -> Path:
    if directory:
        path.mkdir(parents=True)
        (path / "entry").mkdir()
        (path / "entry" / "layer.tar.gz").write_bytes(b"half")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half")
    if old:
        os.utime(path, (OLD, OLD))
    return path


class _Holder:
    """Another process holding `path` as a running build does (`leftovers.in_use`)."""

    def __init__(self, path: Path) -> None:
        code = ("import sys, time; from pathlib import Path; from hatch_krust import leftovers\n"
                "with leftovers.in_use(Path(sys.argv[1])):\n"
                "    print('held', flush=True); time.sleep(60)\n")
        self.process = subprocess.Popen([sys.executable, "-c", code, str(path)],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "held"

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def test_build_layer_removes_stale_build_directories(tmp_path: Path) -> None:
    cache = tmp_path / "layered"
    stale = _leftover(cache / ".krust-build-killed", old=True, directory=True)
    fresh = _leftover(cache / ".krust-build-running", old=False, directory=True)
    held = _leftover(cache / ".krust-build-slow", old=True, directory=True)
    other = _leftover(cache / "keep-me", old=True, directory=True)
    holder = _Holder(held)
    try:
        build_layer(LayerPlan("app", (bytes_entry("/app/x", b"x"),)), cache)
        assert not stale.exists()
        assert fresh.exists() and held.exists() and other.exists()
    finally:
        holder.stop()
    build_layer(LayerPlan("app", (bytes_entry("/app/y", b"y"),)), cache)
    assert not held.exists(), "its build was killed: the lock is gone"


def test_stale_partial_elf_copies_are_removed(tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    (prefix / "bin").mkdir(parents=True)
    source = prefix / "bin" / "python3.99"
    shutil.copyfile(shutil.which("true") or "/bin/true", source)
    info = InterpreterInfo(version="3.99.0", machine="x86_64", prefix=prefix,
                           executable=source, stdlib=prefix / "lib", platstdlib=prefix / "lib",
                           libdir=None, soname="", multiarch="")
    work = tmp_path / "files"
    stale = _leftover(work / "elf" / "abc.4242.partial", old=True, directory=False)
    fresh = _leftover(work / "elf" / "def.4243.partial", old=False, directory=False)
    HostInterpreter(info, strip=False).entries(work)
    assert not stale.exists() and fresh.exists()


def test_stale_executable_staging_is_removed(tmp_path: Path) -> None:
    cache = ExecutableCache(tmp_path)
    key = "ab" + "0" * 62
    stale = _leftover(cache.root / "ab" / ".krust-build-0123456789ab-x1", old=True,
                      directory=True)
    built = tmp_path / "app"
    built.write_bytes(b"\x7fELF")
    cache.put(key, built, {})
    assert not stale.exists()
    assert cache.get(key) is not None


@pytest.mark.parametrize("directory", [True, False])
def test_a_symlink_or_a_non_matching_name_is_left_alone(tmp_path: Path, directory: bool) -> None:
    target = _leftover(tmp_path / "target", old=True, directory=directory)
    link = tmp_path / ".krust-build-link"
    link.symlink_to(target)
    os.utime(link, (OLD, OLD), follow_symlinks=False)
    assert leftovers.remove_stale(tmp_path, (".krust-build-*",)) == []
    assert target.exists()


def test_a_pull_removes_half_written_base_blobs(tmp_path: Path) -> None:
    import socket

    from hatch_krust.building.bases import pull_base
    from hatch_krust.errors import RegistryError
    from hatch_krust.oci.layout import Layout
    from hatch_krust.oci.platform import Platform
    from hatch_krust.oci.reference import parse_reference

    blobs = Layout.create(tmp_path / "bases").root / "blobs" / "sha256"
    stale = _leftover(blobs / f".{'a' * 64}.k1ll3d", old=True, directory=False)
    fresh = _leftover(blobs / f".{'b' * 64}.wr1t1ng", old=False, directory=False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RegistryError):  # nothing listens: the pull fails, after tidying
        pull_base(parse_reference(f"127.0.0.1:{port}/base:1"), Platform.parse("linux/amd64"),
                  tmp_path, ())
    assert not stale.exists() and fresh.exists()


def test_a_blob_being_written_is_held(tmp_path: Path) -> None:
    from hatch_krust.oci.layout import atomic_writer

    target = tmp_path / ("d" * 64)
    with atomic_writer(target) as f:
        f.write(b"x")
        [temporary] = [p for p in tmp_path.iterdir() if p.name.startswith(".")]
        os.utime(temporary, (OLD, OLD))
        assert leftovers.remove_stale(tmp_path, (".*",)) == []
    assert target.read_bytes() == b"x"
