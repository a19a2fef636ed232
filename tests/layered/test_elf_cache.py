"""Cached ELF copies of the layered interpreter are verified before use (issue 21 item 7):
a damaged copy in the work directory is made again, not shipped (it segfaulted, 139)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from hatch_krust.layered.interpreter import HostInterpreter, InterpreterInfo

TRUE = Path(shutil.which("true") or "/bin/true").resolve()


def _interpreter(prefix: Path) -> tuple[HostInterpreter, Path]:
    (prefix / "bin").mkdir(parents=True)
    source = prefix / "bin" / "python3.99"
    shutil.copyfile(TRUE, source)
    source.chmod(0o755)
    info = InterpreterInfo(version="3.99.0", machine="x86_64", prefix=prefix,
                           executable=source, stdlib=prefix / "lib", platstdlib=prefix / "lib",
                           libdir=None, soname="", multiarch="")
    return HostInterpreter(info, strip=False), source


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_a_damaged_cached_copy_is_made_again(tmp_path: Path, damage: str) -> None:
    interpreter, source = _interpreter(tmp_path / "prefix")
    work = tmp_path / "work"
    first = interpreter._elf_entry(source, work, "/opt/python/bin/python3.99")
    assert first.source is not None
    good = _digest(first.source)
    data = first.source.read_bytes()
    if damage == "truncate":
        first.source.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        first.source.write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])
    else:
        first.source.write_bytes(b"")
    again = interpreter._elf_entry(source, work, "/opt/python/bin/python3.99")
    assert again.source is not None
    assert _digest(again.source) == good == _digest(TRUE)  # no RUNPATH: an exact copy


def test_a_sound_cached_copy_is_reused(tmp_path: Path) -> None:
    interpreter, source = _interpreter(tmp_path / "prefix")
    work = tmp_path / "work"
    first = interpreter._elf_entry(source, work, "/opt/python/bin/python3.99")
    assert first.source is not None
    stamp = first.source.stat().st_mtime_ns
    again = interpreter._elf_entry(source, work, "/opt/python/bin/python3.99")
    assert again.source == first.source
    assert again.source.stat().st_mtime_ns == stamp, "not copied again"
