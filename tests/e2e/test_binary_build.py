"""`-t krust:binary` end to end: real PyInstaller, staticx, a chroot with nothing in it."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    build_env,
    copy_example,
    hatch_build,
    hatchling_build,
    only_file,
    write_project,
)
from tests.infra.runtime import run_in_chroot

pytestmark = [pytest.mark.slow, pytest.mark.runtime]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def hello(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> dict[str, object]:
    """examples/hello built once with `python -m hatchling build -t krust:binary`."""
    project = copy_example("hello", tmp_path_factory.mktemp("hello"))
    result = hatchling_build(project, "krust:binary", build_env(cache_dir))
    assert result.returncode == 0, result.stderr
    return {"project": project, "result": result, "exe": only_file(project / "dist" / "krust")}


def test_hello_runs_in_an_empty_root(hello: dict[str, object], tmp_path: Path) -> None:
    exe = hello["exe"]
    assert isinstance(exe, Path)
    assert exe.name.startswith("hello-1.2.3-linux-")
    assert exe.stat().st_mode & 0o111
    version = run_in_chroot(exe, ["--version"], tmp_path / "v")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == "hello, version 1.2.3"  # importlib.metadata
    greeting = run_in_chroot(exe, ["--name", "chroot"], tmp_path / "g")
    assert greeting.returncode == 0, greeting.stderr
    lines = greeting.stdout.splitlines()
    assert lines[0] == "Hello from a static executable! (hello, chroot)"  # importlib.resources
    assert lines[1].startswith("python 3.") and ", click 8." in lines[1]


def test_progress_is_reported_on_stderr(hello: dict[str, object]) -> None:
    result = hello["result"]
    assert "Running PyInstaller" in result.stderr  # type: ignore[attr-defined]
    assert "Static executable: " in result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in result.stderr  # type: ignore[attr-defined]
    assert "INFO: PyInstaller:" not in result.stderr  # type: ignore[attr-defined]  # quiet without -v


def test_two_clean_builds_are_identical(
    hello: dict[str, object], tmp_path: Path, cache_dir: Path
) -> None:
    """The second build bypasses the cache, so it freezes again from scratch."""
    project = copy_example("hello", tmp_path)
    result = hatchling_build(project, "krust:binary", build_env(cache_dir, KRUST_CACHE="0"))
    assert result.returncode == 0, result.stderr
    assert "Running PyInstaller" in result.stderr
    exe = hello["exe"]
    assert isinstance(exe, Path)
    assert sha256(only_file(project / "dist" / "krust")) == sha256(exe)


def test_cache_hit_then_invalidated_by_a_source_change(
    hello: dict[str, object], cache_dir: Path
) -> None:
    project = hello["project"]
    assert isinstance(project, Path)
    again = hatchling_build(project, "krust:binary", build_env(cache_dir))
    assert again.returncode == 0, again.stderr
    assert "Running PyInstaller" not in again.stderr
    assert "Reusing the cached executable" in again.stderr

    cli = project / "src" / "hello" / "cli.py"
    cli.write_text(cli.read_text().replace('default="world"', 'default="cache"'))
    changed = hatchling_build(project, "krust:binary", build_env(cache_dir))
    assert changed.returncode == 0, changed.stderr
    assert "Running PyInstaller" in changed.stderr


YAML_APP = """
import sys
import importlib.metadata
import yaml

def main():
    loader = yaml.CLoader  # the compiled loader: fails if the extension was not bundled
    data = yaml.load("answer: 42\\nitems: [a, b]", Loader=loader)
    print("yaml", importlib.metadata.version("pyyaml"), yaml.__with_libyaml__,
          data["answer"], data["items"])
    return 0
"""


def test_hatch_build_with_a_compiled_dependency(
    tmp_path: Path, plugin_dir: Path, cache_dir: Path
) -> None:
    """The real user path: hatch's own build environment, the plugin from `file://`."""
    project = write_project(
        tmp_path,
        name="yaml-tool",
        version="2.0.0",
        dependencies=("pyyaml>=6",),
        scripts={"yaml-tool": "yaml_tool.app:main"},
        files={"yaml_tool/app.py": YAML_APP},
        krust=f'dependencies = ["hatch-krust @ {plugin_dir.as_uri()}"]',
    )
    result = hatch_build(project, "krust:binary", build_env(cache_dir), tmp_path / "hatch-home")
    assert result.returncode == 0, result.stdout + result.stderr
    exe = only_file(project / "dist" / "krust")
    assert exe.name.startswith("yaml-tool-2.0.0-linux-")
    run = run_in_chroot(exe, [], tmp_path / "root")
    assert run.returncode == 0, run.stderr
    words = run.stdout.split()
    assert words[0] == "yaml" and words[2] == "True" and words[3] == "42", run.stdout


THREAD_APP = """
import threading, time

def spin():
    while True:  # wakes up after the interpreter is finalized: Python then ends the thread
        time.sleep(0.001)

def main():
    for _ in range(4):
        threading.Thread(target=spin, daemon=True).start()
    time.sleep(0.05)
    print("exiting with a daemon thread alive")
    return 0
"""


def test_exit_with_a_daemon_thread_in_an_empty_root(tmp_path: Path, cache_dir: Path) -> None:
    """Python ends daemon threads with pthread_exit, for which glibc dlopens libgcc_s.so.1;
    without it the process dies at exit. The executable must carry the library."""
    project = write_project(
        tmp_path,
        name="threads",
        scripts={"threads": "threads.app:main"},
        files={"threads/app.py": THREAD_APP},
    )
    result = hatchling_build(project, "krust:binary", build_env(cache_dir))
    assert result.returncode == 0, result.stderr
    run = run_in_chroot(only_file(project / "dist" / "krust"), [], tmp_path / "root")
    assert "libgcc_s" not in run.stderr, run.stderr
    assert (run.returncode, run.stdout.strip()) == (0, "exiting with a daemon thread alive")


def local_wheel(root: Path, version: str, wheels: Path) -> None:
    """A tiny dependency, published only to a local find-links directory."""
    project = write_project(
        root / version,
        name="krust-test-localdep",
        version=version,
        files={"krust_test_localdep/__init__.py": f'VERSION = "{version}"\n'},
    )
    built = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(wheels)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr


DEP_APP = """
import krust_test_localdep

def main():
    print("dependency", krust_test_localdep.VERSION)
"""


def test_a_new_release_of_a_dependency_invalidates_the_cache(
    tmp_path: Path, cache_dir: Path
) -> None:
    wheels = tmp_path / "wheels"
    local_wheel(tmp_path / "dep", "1.0", wheels)
    project = write_project(
        tmp_path,
        name="uses-dep",
        scripts={"uses-dep": "uses_dep.app:main"},
        dependencies=("krust-test-localdep>=1",),
        files={"uses_dep/app.py": DEP_APP},
    )
    env = build_env(cache_dir, UV_FIND_LINKS=str(wheels))
    first = hatchling_build(project, "krust:binary", env)
    assert first.returncode == 0, first.stderr
    assert "Running PyInstaller" in first.stderr
    again = hatchling_build(project, "krust:binary", env)
    assert "Running PyInstaller" not in again.stderr, again.stderr

    local_wheel(tmp_path / "dep", "1.1", wheels)  # a new release inside the declared range
    newer = hatchling_build(project, "krust:binary", env)
    assert newer.returncode == 0, newer.stderr
    assert "Running PyInstaller" in newer.stderr
    run = run_in_chroot(only_file(project / "dist" / "krust"), [], tmp_path / "root")
    assert run.stdout.strip() == "dependency 1.1", run.stdout + run.stderr


TINY_APP = """
def main():
    print("tiny")
"""


def test_two_builds_at_once_freeze_once_and_verbose_shows_the_freezer(
    tmp_path: Path, cache_dir: Path
) -> None:
    """Two concurrent builds of the same inputs: one freezes, the other waits for the cache
    entry and reuses it. With `-v` (HATCH_VERBOSE) PyInstaller's own log is shown."""
    projects = [
        write_project(
            tmp_path / str(i),
            name="tiny-app",
            scripts={"tiny-app": "tiny_app.app:main"},
            files={"tiny_app/app.py": TINY_APP},
        )
        for i in range(2)
    ]
    env = build_env(cache_dir, HATCH_VERBOSE="1")
    running = [
        subprocess.Popen(
            [sys.executable, "-m", "hatchling", "build", "-t", "krust:binary"],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for project in projects
    ]
    outputs = [process.communicate(timeout=600) for process in running]
    assert [process.returncode for process in running] == [0, 0], outputs
    froze = [err for _out, err in outputs if "Running PyInstaller" in err]
    reused = [err for _out, err in outputs if "Reusing the cached executable" in err]
    assert (len(froze), len(reused)) == (1, 1), outputs
    assert "INFO: PyInstaller:" in froze[0]  # the freezer's own output, shown with -v
    digests = {sha256(only_file(project / "dist" / "krust")) for project in projects}
    assert len(digests) == 1


HTTPS_APP = """
import sys, urllib.request

def main():
    print("argv0", sys.argv[0])
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=10) as response:
            print("fetched", response.status)
    except Exception as exc:
        print("failed", type(exc).__name__, exc)
        return 3
    return 0
"""


def test_https_on_a_host_that_keeps_its_ca_bundle_elsewhere(
    tmp_path: Path, cache_dir: Path
) -> None:
    """Built on Debian, run on an Alpine-like root (bundle at /etc/ssl/cert.pem only):
    the executable finds that bundle; and argv[0] is the path that was run."""
    from tests.e2e.test_image import serve_https

    project = write_project(
        tmp_path,
        name="fetcher",
        scripts={"fetcher": "fetcher.app:main"},
        files={"fetcher/app.py": HTTPS_APP},
    )
    result = hatchling_build(project, "krust:binary", build_env(cache_dir))
    assert result.returncode == 0, result.stderr
    exe = only_file(project / "dist" / "krust")
    with serve_https(tmp_path / "tls") as (url, tls):
        alpine = run_in_chroot(
            exe, [url], tmp_path / "alpine", files={"/etc/ssl/cert.pem": tls.cert}
        )
        bare = run_in_chroot(exe, [url], tmp_path / "bare")
    assert alpine.stdout.splitlines() == [f"argv0 /{exe.name}", "fetched 200"], alpine
    assert bare.returncode == 3 and "CERTIFICATE_VERIFY_FAILED" in bare.stdout, bare
