"""`-t krust` end to end: the image archive read by skopeo, run by umoci + runc, pushed
to a real registry with token auth, and the bad inputs that must stop it cleanly."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import ssl
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.conftest import build_env, copy_example, hatch_build, hatchling_build, write_project
from tests.infra.images import BASE_TAG, make_umoci_base
from tests.infra.registry import RegistryServer, TLSFiles, make_tls, start_registry
from tests.infra.runtime import run_image

pytestmark = [pytest.mark.slow, pytest.mark.runtime, pytest.mark.registry]

PROBE_APP = """
import getpass, json, os, ssl, sys, urllib.request

def main():
    if sys.argv[1:2] == ["fetch"]:
        try:
            with urllib.request.urlopen(sys.argv[2], timeout=10) as response:
                print("fetched", response.status, response.read().decode().strip())
            return 0
        except Exception as exc:
            print("failed", type(exc).__name__, exc)
            return 3
    stats = ssl.create_default_context().cert_store_stats()
    print(json.dumps({
        "uid": os.getuid(), "user": getpass.getuser(), "ca": stats["x509_ca"],
        "sh": os.path.exists("/bin/sh"), "args": sys.argv[1:], "cwd": os.getcwd(),
        "env": {k: os.environ.get(k) for k in ("GREETING", "LANG", "PATH", "SSL_CERT_FILE")},
    }))
    return 0
"""
USERS = {"ci": "s3cret-pass"}


def probe_app(root: Path, krust: str, extra: str = "") -> Path:
    """The probe project with exactly this `krust` table. Its executable depends on none
    of that table, so the session's cache (`cache_dir`) serves one freeze of it to every
    test (here and in tests/newuser) that checks something other than the freeze."""
    return write_project(
        root,
        name="probe-app",
        version="0.3.0",
        scripts={"probe-app": "probe_app.app:main"},
        files={"probe_app/app.py": PROBE_APP},
        krust=krust,
        extra=extra,
    )


def probe_project(root: Path, krust: str = "") -> Path:
    """The probe project, static on scratch, with `krust` added."""
    return probe_app(root, 'format = "static"\nbase-image = "scratch"\n' + krust)


def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["skopeo", *args], capture_output=True, text=True, check=False, timeout=120
    )


def unpack_archive(archive: Path, tmp: Path) -> Path:
    """skopeo (not our code) turns the archive into a layout for umoci."""
    tmp.mkdir(parents=True, exist_ok=True)
    layout = tmp / "copied"
    done = skopeo("copy", f"oci-archive:{archive}", f"oci:{layout}:run")
    assert done.returncode == 0, done.stderr
    return layout


def run_json(layout: Path, tmp: Path, args: list[str] | None = None) -> dict[str, object]:
    run = run_image(layout, "run", tmp, args=args, host_network=True)
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(run.stdout)  # type: ignore[no-any-return]


@contextlib.contextmanager
def serve_https(directory: Path) -> Iterator[tuple[str, TLSFiles]]:
    """An HTTPS server on loopback with a certificate from a CA only the test knows."""
    tls = make_tls(directory)

    class Hello(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"hello over tls\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.cert, tls.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/", tls
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, TLSFiles]]:
    with serve_https(tmp_path_factory.mktemp("tls")) as served:
        yield served


@pytest.fixture(scope="module")
def scratch_image(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> dict[str, object]:
    project = probe_project(tmp_path_factory.mktemp("probe"))
    result = hatchling_build(project, "krust", build_env(cache_dir))
    assert result.returncode == 0, result.stderr
    return {"project": project, "result": result, "out": project / "dist" / "krust"}


def test_outputs_and_skopeo_reads_the_archive(scratch_image: dict[str, object]) -> None:
    out = scratch_image["out"]
    assert isinstance(out, Path)
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "probe-app-0.3.0-linux-amd64",
        "probe-app-0.3.0.build.json",
        "probe-app-0.3.0.cdx.json",  # the SBOM (tests/attest)
        "probe-app-0.3.0.oci.tar",
        "probe-app-0.3.0.provenance.json",
    ]
    record = json.loads((out / "probe-app-0.3.0.build.json").read_text())
    raw = skopeo("inspect", "--raw", f"oci-archive:{out / 'probe-app-0.3.0.oci.tar'}")
    assert raw.returncode == 0, raw.stderr
    # The archive lists the platform manifest, named after the project (docs/image.md).
    assert json.loads(raw.stdout)["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    digest = "sha256:" + hashlib.sha256(raw.stdout.encode()).hexdigest()
    assert [digest] == [p["digest"] for p in record["platforms"]]
    with tarfile.open(out / "probe-app-0.3.0.oci.tar") as tar:
        (entry,) = json.load(tar.extractfile("index.json"))["manifests"]  # type: ignore[arg-type]
        index = tar.extractfile(f"blobs/sha256/{record['index']['digest'][7:]}")
        assert index is not None  # the pushed index stays in the archive
    assert entry["annotations"]["io.containerd.image.name"] == "localhost/probe-app:0.3.0"
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "0.3.0"
    assert record["tags"] == ["latest", "0.3.0"]
    assert record["base"] == {"name": "scratch", "digest": None}
    assert record["reference"] is None
    result = scratch_image["result"]
    # nothing pushed: our one stdout line is the archive's path
    assert result.stdout.splitlines() == [str(out / "probe-app-0.3.0.oci.tar")]  # type: ignore[attr-defined]


def test_scratch_image_runs_as_nonroot_with_certificates(
    scratch_image: dict[str, object], tmp_path: Path
) -> None:
    out = scratch_image["out"]
    assert isinstance(out, Path)
    seen = run_json(unpack_archive(out / "probe-app-0.3.0.oci.tar", tmp_path), tmp_path)
    assert seen["uid"] == 65532
    assert seen["user"] == "nonroot"
    assert seen["sh"] is False
    assert isinstance(seen["ca"], int) and seen["ca"] > 100  # certifi's bundle is loaded
    env = seen["env"]
    assert isinstance(env, dict)
    assert env["SSL_CERT_FILE"] == "/etc/ssl/certs/ca-certificates.crt"
    assert str(env["PATH"]).endswith(":/app")


def test_https_verifies_against_the_image_bundle(
    tls_server: tuple[str, TLSFiles],
    tmp_path: Path,
    cache_dir: Path,
    scratch_image: dict[str, object],  # built first: its executable is in the cache
) -> None:
    url, tls = tls_server
    trusting = probe_project(tmp_path / "trusting", f'ca-certificates = "{tls.cert}"')
    built = hatchling_build(trusting, "krust", build_env(cache_dir))
    assert built.returncode == 0, built.stderr
    assert "Running PyInstaller" not in built.stderr  # the executable came from the cache
    layout = unpack_archive(trusting / "dist" / "krust" / "probe-app-0.3.0.oci.tar", tmp_path / "t")
    ok = run_image(layout, "run", tmp_path, args=["fetch", url], host_network=True)
    assert ok.stdout.split()[:2] == ["fetched", "200"], ok.stdout + ok.stderr

    default = probe_project(tmp_path / "default")
    built = hatchling_build(default, "krust", build_env(cache_dir))
    assert built.returncode == 0, built.stderr
    layout = unpack_archive(default / "dist" / "krust" / "probe-app-0.3.0.oci.tar", tmp_path / "d")
    refused = run_image(layout, "run", tmp_path, args=["fetch", url], host_network=True)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "CERTIFICATE_VERIFY_FAILED" in refused.stdout


def test_two_clean_builds_give_the_same_index(
    scratch_image: dict[str, object], tmp_path: Path, cache_dir: Path
) -> None:
    again = probe_project(tmp_path)
    result = hatchling_build(again, "krust", build_env(cache_dir))
    assert result.returncode == 0, result.stderr
    first = json.loads((Path(str(scratch_image["out"])) / "probe-app-0.3.0.build.json").read_text())
    second = json.loads((again / "dist" / "krust" / "probe-app-0.3.0.build.json").read_text())
    assert second["index"] == first["index"]
    assert second["archive"]["sha256"] == first["archive"]["sha256"]


def test_base_from_a_layout_merges_env_user_and_annotations(
    tmp_path: Path, cache_dir: Path
) -> None:
    base = make_umoci_base(tmp_path / "base")
    project = probe_project(tmp_path / "p")
    env = build_env(
        cache_dir,
        KRUST_BASE_IMAGE=f"oci:{base}:{BASE_TAG}",
        KRUST_ENV="GREETING=hi",
        KRUST_USER="app",
    )
    result = hatchling_build(project, "krust", env)
    assert result.returncode == 0, result.stderr
    archive = project / "dist" / "krust" / "probe-app-0.3.0.oci.tar"
    raw = json.loads(skopeo("inspect", "--raw", f"oci-archive:{archive}").stdout)
    base_index = json.loads((base / "index.json").read_text())
    base_digest = base_index["manifests"][0]["digest"]
    assert raw["annotations"]["org.opencontainers.image.version"] == "0.3.0"
    layout = unpack_archive(archive, tmp_path)
    manifest = json.loads(skopeo("inspect", "--raw", f"oci:{layout}:run").stdout)
    assert manifest["annotations"]["org.opencontainers.image.base.digest"] == base_digest
    # a local base by its digest and a name without this machine's path (docs/image.md)
    assert manifest["annotations"]["org.opencontainers.image.base.name"] == f"oci:base:{BASE_TAG}"
    base_manifest = json.loads((base / "blobs" / "sha256" / base_digest.split(":")[1]).read_text())
    # then the package metadata for scanners, the zone database (this base has none) and
    # the executable's layer
    assert [lay["digest"] for lay in manifest["layers"][:-3]] == [
        lay["digest"] for lay in base_manifest["layers"]
    ]
    seen = run_json(layout, tmp_path)
    assert (seen["uid"], seen["user"], seen["cwd"]) == (1000, "app", "/srv")
    env_seen = seen["env"]
    assert isinstance(env_seen, dict)
    assert env_seen["GREETING"] == "hi" and env_seen["LANG"] == "C.UTF-8"
    assert env_seen["PATH"] == "/usr/bin:/bin:/app"


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with start_registry(tmp_path_factory.mktemp("registry"), "token", USERS) as server:
        yield server


def docker_config(directory: Path, host: str, user: str, password: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (directory / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return directory


def test_push_with_token_auth_prints_the_digest(
    token_registry: object, tmp_path: Path, cache_dir: Path
) -> None:
    host = token_registry.host  # type: ignore[attr-defined]
    project = probe_project(tmp_path / "p")
    config = docker_config(tmp_path / "docker", host, "ci", USERS["ci"])
    env = build_env(cache_dir, KRUST_REPO=f"{host}/team", DOCKER_CONFIG=str(config))
    result = hatchling_build(project, "krust", env)
    assert result.returncode == 0, result.stderr
    reference = result.stdout.strip()
    assert reference.startswith(f"{host}/team/probe-app@sha256:"), result.stdout
    assert len(result.stdout.splitlines()) == 1  # the only stdout line
    out = project / "dist" / "krust"
    assert (out / "probe-app-0.3.0.ref").read_text().strip() == reference
    creds = f"ci:{USERS['ci']}"
    seen = skopeo("inspect", "--tls-verify=false", "--creds", creds, f"docker://{reference}")
    assert seen.returncode == 0, seen.stderr
    tags = skopeo(
        "list-tags", "--tls-verify=false", "--creds", creds, f"docker://{host}/team/probe-app"
    )
    listed = sorted(json.loads(tags.stdout)["Tags"])
    # plus the referrers fallback tag holding the SBOM and provenance (tests/attest)
    assert [t for t in listed if not t.startswith("sha256-")] == ["0.3.0", "latest"]
    assert len(listed) == 3, listed
    for tag in ("latest", "0.3.0"):
        raw = skopeo(
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            creds,
            f"docker://{host}/team/probe-app:{tag}",
        )
        assert (
            "sha256:" + __import__("hashlib").sha256(raw.stdout.encode()).hexdigest()
            == reference.split("@")[1]
        )
    assert "s3cret" not in result.stderr

    mark = token_registry.mark()  # type: ignore[attr-defined]
    again = hatchling_build(project, "krust", env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == reference
    uploads = [r for r in token_registry.requests_since(mark) if "/blobs/uploads/" in r]  # type: ignore[attr-defined]
    assert uploads == []


def test_wrong_password_is_a_clear_error(
    token_registry: object, tmp_path: Path, cache_dir: Path
) -> None:
    host = token_registry.host  # type: ignore[attr-defined]
    project = probe_project(tmp_path / "p")
    config = docker_config(tmp_path / "docker", host, "ci", "wrong-horse-battery")
    env = build_env(cache_dir, KRUST_REPO=f"{host}/team", DOCKER_CONFIG=str(config))
    result = hatchling_build(project, "krust", env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "wrong-horse-battery" not in result.stderr + result.stdout
    assert host in result.stderr
    assert result.stdout == ""
    assert not (project / "dist" / "krust" / "probe-app-0.3.0.ref").exists()


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"KRUST_REPO": "UPPER.case/x"}, "repository"),
        ({"KRUST_TAGS": "bad tag"}, "Environment variable `KRUST_TAGS` has an invalid tag"),
        ({"KRUST_PLATFORMS": "linux/s390x"}, "PyInstaller does not cross-build"),
        ({"KRUST_PLATFORMS": "linux/x86_64"}, "did you mean `linux/amd64`?"),
        ({"KRUST_ENV": "1X=2"}, "Environment variable `KRUST_ENV` has an invalid variable name"),
        (
            {"KRUST_LABELS": "novalue"},
            "Environment variable `KRUST_LABELS` must be comma-separated KEY=VALUE",
        ),
        ({"KRUST_USER": "a b"}, "Environment variable `KRUST_USER` must be `USER` or `USER:GROUP`"),
        ({"KRUST_BASE_IMAGE": "oci:/nonexistent/base"}, "does not exist"),
        ({"KRUST_BASE_IMAGE": "127.0.0.1:9/none/base:1"}, "127.0.0.1:9"),
    ],
)
def test_bad_image_input(
    env: dict[str, str], fragment: str, tmp_path: Path, cache_dir: Path
) -> None:
    project = probe_project(tmp_path / "p")
    result = hatchling_build(project, "krust", build_env(cache_dir, **env))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    assert fragment in output, output
    assert not (project / "dist" / "krust").exists(), list((project / "dist" / "krust").iterdir())


def test_registry_base_layers_are_mounted_into_the_target(
    registry: RegistryServer, tmp_path: Path, cache_dir: Path
) -> None:
    host = registry.host
    base = make_umoci_base(tmp_path / "base")
    pushed = skopeo(
        "copy", "--dest-tls-verify=false", f"oci:{base}:{BASE_TAG}", f"docker://{host}/bases/app:1"
    )
    assert pushed.returncode == 0, pushed.stderr
    base_manifest = json.loads(
        skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{host}/bases/app:1").stdout
    )
    project = probe_project(tmp_path / "p")
    mark = registry.mark()  # type: ignore[attr-defined]
    env = build_env(cache_dir, KRUST_BASE_IMAGE=f"{host}/bases/app:1", KRUST_REPO=f"{host}/team")
    result = hatchling_build(project, "krust", env)
    assert result.returncode == 0, result.stderr
    reference = result.stdout.strip()
    log = registry.requests_since(mark)  # type: ignore[attr-defined]
    base_layer = base_manifest["layers"][0]["digest"]
    assert any(
        "mount=" + base_layer in line and "from=bases%2Fapp" in line.replace("/", "%2F")
        for line in log
    ), log
    manifest = json.loads(
        skopeo(
            "inspect", "--raw", "--tls-verify=false", f"docker://{host}/team/probe-app:latest"
        ).stdout
    )
    assert "manifests" in manifest  # an index
    platform_manifest = json.loads(
        skopeo(
            "inspect",
            "--raw",
            "--tls-verify=false",
            f"docker://{host}/team/probe-app@{manifest['manifests'][0]['digest']}",
        ).stdout
    )
    assert platform_manifest["layers"][0]["digest"] == base_layer
    assert (
        platform_manifest["annotations"]["org.opencontainers.image.base.name"]
        == f"{host}/bases/app:1"
    )
    record = json.loads((project / "dist" / "krust" / "probe-app-0.3.0.build.json").read_text())
    assert record["reference"] == reference
    assert record["base"]["name"] == f"{host}/bases/app:1"
    blob = skopeo("inspect", "--tls-verify=false", f"docker://{host}/team/probe-app:0.3.0")
    assert blob.returncode == 0, blob.stderr


def test_base_without_the_platform_is_refused(
    registry: RegistryServer, tmp_path: Path, cache_dir: Path
) -> None:
    host = registry.host
    base = make_umoci_base(tmp_path / "base")
    subprocess.run(
        ["umoci", "config", "--image", f"{base}:{BASE_TAG}", "--architecture", "s390x"],
        check=True,
        capture_output=True,
    )
    pushed = skopeo(
        "copy",
        "--dest-tls-verify=false",
        f"oci:{base}:{BASE_TAG}",
        f"docker://{host}/bases/s390x-only:1",
    )
    assert pushed.returncode == 0, pushed.stderr
    project = probe_project(tmp_path / "p")
    for spec in (f"{host}/bases/s390x-only:1", f"oci:{base}:{BASE_TAG}"):
        result = hatchling_build(project, "krust", build_env(cache_dir, KRUST_BASE_IMAGE=spec))
        assert result.returncode != 0
        assert "Traceback" not in result.stderr, result.stderr
        assert "linux/amd64" in result.stderr and "s390x" in result.stderr, result.stderr
        assert not (project / "dist" / "krust").exists()


def test_base_that_does_not_exist(
    registry: RegistryServer, tmp_path: Path, cache_dir: Path
) -> None:
    host = registry.host
    project = probe_project(tmp_path / "p")
    result = hatchling_build(
        project, "krust", build_env(cache_dir, KRUST_BASE_IMAGE=f"{host}/nothing/here:1")
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert f"{host}/nothing/here" in result.stderr, result.stderr
    assert not (project / "dist" / "krust").exists()


def test_only_the_configured_tags_are_pushed(
    registry: RegistryServer, tmp_path: Path, cache_dir: Path
) -> None:
    host = registry.host
    project = probe_project(tmp_path / "p")
    env = build_env(
        cache_dir, KRUST_REPO=f"{host}/onlytags", KRUST_TAGS="{major}.{minor},{version}"
    )
    result = hatchling_build(project, "krust", env)
    assert result.returncode == 0, result.stderr
    tags = skopeo("list-tags", "--tls-verify=false", f"docker://{host}/onlytags/probe-app")
    pushed = [t for t in json.loads(tags.stdout)["Tags"] if not t.startswith("sha256-")]
    assert sorted(pushed) == ["0.3", "0.3.0"]  # sha256-… is the SBOM's referrers tag


def test_hello_with_hatch_build_on_scratch(
    tmp_path: Path, plugin_dir: Path, cache_dir: Path
) -> None:
    """The user path for the example: `hatch build -t krust`, the plugin from `file://`."""
    project = copy_example("hello", tmp_path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'dependencies = ["hatch-krust"]',
            f'dependencies = ["hatch-krust @ {plugin_dir.as_uri()}"]',
        )
    )
    result = hatch_build(project, "krust", build_env(cache_dir), tmp_path / "hatch-home")
    assert result.returncode == 0, result.stdout + result.stderr
    archive = project / "dist" / "krust" / "hello-1.2.3.oci.tar"
    config = skopeo("inspect", "--config", f"oci-archive:{archive}")
    assert config.returncode == 0, config.stderr
    assert json.loads(config.stdout)["config"]["User"] == "65532"
    layout = unpack_archive(archive, tmp_path)
    run = run_image(layout, "run", tmp_path, args=["--name", "runc"])
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == "Hello from a static executable! (hello, runc)"
    version = run_image(layout, "run", tmp_path, args=["--version"])
    assert version.stdout.strip() == "hello, version 1.2.3"


def test_a_base_pinned_by_digest_is_served_from_the_cache_offline(
    tmp_path: Path, cache_dir: Path
) -> None:
    base = make_umoci_base(tmp_path / "base")
    project = probe_project(tmp_path / "p")
    with start_registry(tmp_path / "registry", "anonymous") as server:
        pushed = skopeo(
            "copy",
            "--dest-tls-verify=false",
            f"oci:{base}:{BASE_TAG}",
            f"docker://{server.host}/bases/pinned:1",
        )
        assert pushed.returncode == 0, pushed.stderr
        digest = skopeo(
            "inspect",
            "--tls-verify=false",
            "--format",
            "{{.Digest}}",
            f"docker://{server.host}/bases/pinned:1",
        ).stdout.strip()
        pinned = f"{server.host}/bases/pinned@{digest}"
        first = hatchling_build(project, "krust", build_env(cache_dir, KRUST_BASE_IMAGE=pinned))
        assert first.returncode == 0, first.stderr
        assert "served from the cache" not in first.stderr
    # The registry is gone: a pinned base needs no network once it is cached.
    record = project / "dist" / "krust" / "probe-app-0.3.0.build.json"
    before = json.loads(record.read_text())
    again = hatchling_build(project, "krust", build_env(cache_dir, KRUST_BASE_IMAGE=pinned))
    assert again.returncode == 0, again.stderr
    assert "served from the cache" in again.stderr
    after = json.loads(record.read_text())
    assert after["index"] == before["index"]
    assert after["base"] == {"name": pinned, "digest": digest}
