"""The pipeline's small pure steps: script choice, epoch, naming, atomic install, cache."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from hatch_krust.atomic import install_atomically
from hatch_krust.errors import ConfigError
from hatch_krust.formats.cache import ExecutableCache, cache_key
from hatch_krust.formats.executable import executable_name
from hatch_krust.inputs import default_cache_dir, resolve_script, source_date_epoch


def test_single_script_is_the_default() -> None:
    assert resolve_script({"tool": "pkg.cli:main"}, "whatever", None) == ("tool", "pkg.cli:main")


def test_script_named_like_the_project_wins() -> None:
    scripts = {"other": "a:b", "my-app": "my_app:main"}
    assert resolve_script(scripts, "My_App", None) == ("my-app", "my_app:main")


def test_ambiguous_scripts_are_listed() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_script({"b": "x:y", "a": "x:z"}, "proj", None)
    assert "several scripts (`a`, `b`)" in str(info.value)
    assert "KRUST_SCRIPT" in str(info.value)


def test_unknown_script_lists_available() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_script({"b": "x:y", "a": "x:z"}, "proj", "c")
    assert "names `c`, which is not in `[project.scripts]`. Available scripts: `a`, `b`." in str(
        info.value
    )


def test_no_scripts() -> None:
    with pytest.raises(ConfigError, match=r"has no `\[project.scripts\]` entry"):
        resolve_script({}, "proj", None)


def test_source_date_epoch() -> None:
    assert source_date_epoch(True, {}) == 1580601600
    assert source_date_epoch(True, {"SOURCE_DATE_EPOCH": "42"}) == 42
    assert source_date_epoch(False, {"SOURCE_DATE_EPOCH": "42"}) is None
    with pytest.raises(ConfigError, match="must be an integer, not 'soon'"):
        source_date_epoch(True, {"SOURCE_DATE_EPOCH": "soon"})


def test_executable_name() -> None:
    assert executable_name("hello", "1.2.3", "amd64") == "hello-1.2.3-linux-amd64"


def test_install_atomically_leaves_no_temporary(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(b"x" * 1000)
    target = tmp_path / "out" / "exe"
    install_atomically(src, target)
    assert target.read_bytes() == b"x" * 1000
    assert target.stat().st_mode & 0o777 == 0o755
    assert [p.name for p in target.parent.iterdir()] == ["exe"]


def test_cache_round_trip_and_partial_entries(tmp_path: Path) -> None:
    cache = ExecutableCache(tmp_path)
    key = cache_key({"a": 1})
    assert cache.get(key) is None
    exe = tmp_path / "exe"
    exe.write_bytes(b"binary")
    entry = cache.put(key, exe, {"tools": {"x": "1"}})
    assert entry.executable.read_bytes() == b"binary"
    assert cache.get(key) is not None
    entry.executable.write_bytes(b"bin")  # truncated: never served
    assert cache.get(key) is None
    cache.put(key, exe, {})  # a broken entry is replaced
    assert cache.get(key) is not None


def test_cache_concurrent_puts(tmp_path: Path) -> None:
    cache = ExecutableCache(tmp_path)
    key = cache_key({"b": 2})
    exe = tmp_path / "exe"
    exe.write_bytes(b"same")
    errors: list[BaseException] = []

    def put() -> None:
        try:
            with cache.lock(key):
                if cache.get(key) is None:
                    cache.put(key, exe, {})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert cache.get(key) is not None
    leftovers = [p for p in (tmp_path / "executables" / key[:2]).iterdir() if p.name != key]
    assert leftovers == []


def test_default_cache_dir() -> None:
    assert default_cache_dir({"KRUST_CACHE_DIR": "/x"}) == Path("/x")
    assert default_cache_dir({"XDG_CACHE_HOME": "/c"}) == Path("/c/hatch-krust")
