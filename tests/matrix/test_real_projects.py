"""The real-project matrix: pinned sdists from PyPI, frozen, doing real work in an empty root.

Five kinds of project: a CLI whose dependencies load plugins through entry points (tox
and virtualenv), a CLI behind an extra (httpx[cli]), a project whose build hook has its
own dependencies (jupyter_server's hatch-jupyter-builder hook) and that serves HTTP, a
pure-WSGI server (gunicorn), and compiled extensions (charset-normalizer built with mypyc).
Run alone with `pytest -m matrix`; see docs/performance.md for the time it takes.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.infra.runtime import RunningContainer, run_image, run_in_chroot, start_image
from tests.matrix.harness import (
    RealProject,
    build_executable,
    http_get,
    image_layout,
    run_once,
    running_in_chroot,
)

pytestmark = [pytest.mark.infra, pytest.mark.matrix, pytest.mark.slow, pytest.mark.runtime]



def container_get(url: str, container: RunningContainer, deadline: float = 90.0) -> str:
    """GET `url` from a server running under runc, once it answers."""
    end = time.monotonic() + deadline
    while True:
        assert container.process.poll() is None, container.output()
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return str(answer.read().decode())
        except OSError:
            if time.monotonic() > end:
                raise AssertionError(container.output()) from None
            time.sleep(0.5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


TOX = RealProject(
    "tox",
    "4.23.2",
    "86075e00e555df6e82e74cfc333917f91ecb47ffbc868dcafbd2672e332f4a2c",
)
HTTPX = RealProject(
    "httpx",
    "0.28.1",
    "75e98c5f16b0f35b567856f597f06ff2270a374470a5c2392242528e3e3e42fc",
    {"KRUST_EXTRAS": "cli"},
)
JUPYTER_SERVER = RealProject(
    "jupyter_server",
    "2.15.0",
    "9d446b8697b4f7337a1b7cdcac40778babdd93ba614b6d68ab1c0c918f1c4084",
)
GUNICORN = RealProject(
    "gunicorn",
    "23.0.0",
    "f014447a0101dc57e294f6c18ca6b40227a4c90e9bdb586042628030cba004ec",
    # gunicorn imports the application by name; this one comes from the standard library
    {"KRUST_HIDDEN_IMPORTS": "wsgiref.simple_server"},
)
CHARSET_NORMALIZER = RealProject(
    "charset_normalizer",
    "3.4.1",
    "44251f18cd68a75b56585dd00dae26183e102cd5e0f9f1466e6df5da2ed64ea3",
    {"CHARSET_NORMALIZER_USE_MYPYC": "1"},
)


def test_a_cli_behind_an_extra_httpx(plugin_dir: Path, tmp_path: Path) -> None:
    built = build_executable(HTTPX, plugin_dir, tmp_path)
    site = tmp_path / "site"
    site.mkdir()
    (site / "greeting.txt").write_text("served to a frozen httpx\n")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=site,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/greeting.txt"
        for _ in range(50):
            done = run_in_chroot(built.executable, [url], tmp_path / "run")
            if "Connection refused" not in done.stdout + done.stderr:
                break
            time.sleep(0.2)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "HTTP/1.0 200 OK" in done.stdout
        assert "served to a frozen httpx" in done.stdout
        layout = image_layout(built, tmp_path)
        ran = run_image(layout, "run", tmp_path, args=[url], host_network=True)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert "served to a frozen httpx" in ran.stdout
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_compiled_extensions_charset_normalizer(plugin_dir: Path, tmp_path: Path) -> None:
    built = build_executable(CHARSET_NORMALIZER, plugin_dir, tmp_path)
    version = run_in_chroot(built.executable, ["--version"], tmp_path / "v")
    assert version.returncode == 0, version.stderr
    assert "Charset-Normalizer 3.4.1" in version.stdout
    assert "SpeedUp ON" in version.stdout  # the mypyc-compiled md module is what runs
    sample = tmp_path / "sample.txt"
    sample.write_bytes("Ελληνικά, русский, 日本語, déjà vu, naïve. ".encode() * 20)
    files = {"/sample.txt": sample}
    done = run_in_chroot(
        built.executable, ["--minimal", "/sample.txt"], tmp_path / "d", files=files
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "utf_8", done.stdout
    layout = image_layout(built, tmp_path)
    ran = run_image(layout, "run", tmp_path, args=["--version"])
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "SpeedUp ON" in ran.stdout


WSGI_APP = """
def app(environ, start_response):
    body = ("hello from gunicorn in an empty root, path " + environ["PATH_INFO"]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""


def test_a_wsgi_server_gunicorn(plugin_dir: Path, tmp_path: Path) -> None:
    built = build_executable(GUNICORN, plugin_dir, tmp_path)
    port = free_port()
    args = ["--chdir", "/app", "--bind", f"127.0.0.1:{port}", "--workers", "2", "hello:app"]
    files = {"/app/hello.py": WSGI_APP}
    with running_in_chroot(built.executable, args, tmp_path, files, {}) as server:
        body = http_get(f"http://127.0.0.1:{port}/frozen", server)
    assert body == "hello from gunicorn in an empty root, path /frozen"
    layout = image_layout(built, tmp_path)
    port = free_port()
    args = ["--bind", f"127.0.0.1:{port}", "wsgiref.simple_server:demo_app"]
    with start_image(layout, "run", tmp_path, args=args, host_network=True) as container:
        body = container_get(f"http://127.0.0.1:{port}/", container)
    assert body.startswith("Hello world!")


TOX_INI = """
[tox]
env_list = lint, py

[testenv]
description = run the tests

[testenv:lint]
description = check the style
skip_install = true
"""


def test_a_cli_whose_dependencies_load_plugins_tox(plugin_dir: Path, tmp_path: Path) -> None:
    built = build_executable(TOX, plugin_dir, tmp_path)
    files, env = {"/project/tox.ini": TOX_INI}, {"HOME": "/tmp"}
    args = ["list", "-c", "/project/tox.ini"]
    status, output = run_once(built.executable, args, tmp_path / "l", files, env)
    assert status == 0, output
    assert "lint -> check the style" in output
    # virtualenv's discovery plugin, found through its entry point (issue 10's failure)
    args = ["config", "-c", "/project/tox.ini", "-e", "lint", "-k", "base_python", "env_python"]
    status, output = run_once(built.executable, args, tmp_path / "c", files, env)
    assert "ModuleNotFoundError" not in output, output
    assert "base_python = " in output, output
    layout = image_layout(built, tmp_path)
    args = ["config", "-e", "py", "-k", "base_python", "env_python"]  # no tox.ini here
    ran = run_image(layout, "run", tmp_path, args=args, env={"HOME": "/tmp"})
    assert "ModuleNotFoundError" not in ran.stdout + ran.stderr, ran.stdout + ran.stderr
    assert "base_python = " in ran.stdout, ran.stdout + ran.stderr


def test_a_build_hook_with_its_own_dependencies_jupyter_server(
    plugin_dir: Path, tmp_path: Path
) -> None:
    built = build_executable(JUPYTER_SERVER, plugin_dir, tmp_path)
    port = free_port()
    args = ["--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}"]
    args += ["--ServerApp.root_dir=/tmp"]
    env = {"HOME": "/tmp", "JUPYTER_RUNTIME_DIR": "/tmp/runtime"}
    with running_in_chroot(built.executable, args, tmp_path, {}, env) as server:
        body = http_get(f"http://127.0.0.1:{port}/api", server)
        # shipped in the sdist and checked by the hook (`ensured-targets`)
        css = http_get(f"http://127.0.0.1:{port}/static/style/bootstrap.min.css", server)
    assert json.loads(body) == {"version": "2.15.0"}
    assert "Bootstrap" in css[:300]
    layout = image_layout(built, tmp_path)
    port = free_port()
    args[3] = f"--port={port}"
    with start_image(layout, "run", tmp_path, args=args, host_network=True, env=env) as container:
        body = container_get(f"http://127.0.0.1:{port}/api", container)
    assert json.loads(body) == {"version": "2.15.0"}
