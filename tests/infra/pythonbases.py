"""Python base images made by the tests from Debian's own packages, and a qemu-user runner.

`debian_python_root(arch, cache)` downloads bookworm's Python 3.11 and the libraries it
links (`apt-get download`, `dpkg-deb -x`) into one root per architecture and writes the
packages' dpkg status entries, so an SBOM can name the base's Python as Debian does.
`python_base_layout(...)` puts one layer per platform and an OCI index with them into an
OCI layout (tag `python`), pushable with `skopeo copy --all`. `usr_local_base(...)` is the
`/usr/local` layout of the official `python:*` images, made from the build machine's own
interpreter on the amd64 root's C library. Roots and layouts are cached under `cache`,
keyed by the packages' versions, so only the first run downloads.

`run_foreign(root, argv)` runs a program of an arm64 root under `qemu-aarch64-static`
copied into it, with chroot: no binfmt registration needed. Needs root and Debian's
`qemu-user-static`, and `dpkg --add-architecture arm64 && apt-get update` done once
(scripts/test.sh does both).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sysconfig
import tarfile
from pathlib import Path

__all__ = [
    "BASE_TAG",
    "DEBIAN_PYTHON",
    "PYTHON_PACKAGES",
    "debian_python_root",
    "python_base_layout",
    "run_foreign",
    "usr_local_base",
]

BASE_TAG = "python"
DEBIAN_PYTHON = "/usr/bin/python3.11"
PYTHON_PACKAGES = (
    "python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib", "libc6",
    "libexpat1", "zlib1g", "libssl3", "libffi8", "libbz2-1.0", "liblzma5", "libcrypt1",
    "libsqlite3-0", "libuuid1", "libgcc-s1", "libstdc++6",
)  # fmt: skip
_MACHINES = {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}
_QEMU = {"arm64": "qemu-aarch64-static"}
_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
_EPOCH = 1_700_000_000


def _uris(arch: str) -> list[tuple[str, str]]:
    """(file name, sha256) of each package for `arch`, as apt would download them now."""
    names = [f"{p}:{arch}" for p in PYTHON_PACKAGES]
    out = subprocess.run(
        ["apt-get", "download", "--print-uris", *names],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    found = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4:
            found.append((parts[1], parts[3].removeprefix("SHA256:")))
    return sorted(found)


def debian_python_root(arch: str, cache: Path) -> Path:
    """A complete Debian Python 3.11 root for `arch` (`amd64`, `arm64`), built once."""
    uris = _uris(arch)
    key = hashlib.sha256(json.dumps(uris).encode()).hexdigest()[:16]
    root = cache / f"debian-python-{arch}-{key}"
    if (root / ".complete").is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    debs = cache / f"debs-{arch}-{key}"
    debs.mkdir(parents=True, exist_ok=True)
    names = [f"{p}:{arch}" for p in PYTHON_PACKAGES]
    subprocess.run(["apt-get", "download", *names], cwd=debs, check=True, capture_output=True)
    root.mkdir(parents=True)
    status = []
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        control = subprocess.run(
            ["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=True
        ).stdout.strip()
        head, _, rest = control.partition("\n")
        status.append(f"{head}\nStatus: install ok installed\n{rest}\n")
    (root / "var/lib/dpkg").mkdir(parents=True, exist_ok=True)
    (root / "var/lib/dpkg/status").write_text("\n".join(status))
    for name in ("tmp", "etc", "proc", "dev"):
        (root / name).mkdir(exist_ok=True)
    (root / "tmp").chmod(0o1777)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\n")
    shutil.rmtree(debs)
    (root / ".complete").write_text(key)
    return root


def _layer(root: Path, target: Path, skip: tuple[str, ...] = ()) -> tuple[str, str, int]:
    """A reproducible gzip tar of `root` at `target`: (digest, diff_id, size)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root).as_posix()
            if relative == ".complete" or relative.startswith(skip):
                continue
            info = tar.gettarinfo(str(path), relative)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = _EPOCH
            if info.isreg():
                with path.open("rb") as stream:
                    tar.addfile(info, stream)
            else:
                tar.addfile(info)
    data = raw.getvalue()
    packed = gzip.compress(data, mtime=0)
    target.write_bytes(packed)
    return "sha256:" + hashlib.sha256(packed).hexdigest(), _sha(data), len(packed)


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _blob(layout: Path, data: bytes) -> dict[str, object]:
    digest = _sha(data)
    (layout / "blobs/sha256" / digest.split(":")[1]).write_bytes(data)
    return {"digest": digest, "size": len(data)}


def _image(layout: Path, root: Path, arch: str, env: list[str], skip: tuple[str, ...]) -> dict:  # type: ignore[type-arg]
    """One platform's manifest (one layer: `root`) in `layout`; its index entry."""
    staging = layout / "staging.tar.gz"
    digest, diff_id, size = _layer(root, staging, skip)
    staging.rename(layout / "blobs/sha256" / digest.split(":")[1])
    config = {
        "architecture": arch, "os": "linux",
        "config": {"Env": env, "Cmd": ["python3"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "tests/infra/pythonbases.py"}],
    }  # fmt: skip
    config_ref = _blob(layout, json.dumps(config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2, "mediaType": _OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config_ref},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": digest, "size": size}],
    }  # fmt: skip
    ref = _blob(layout, json.dumps(manifest, sort_keys=True).encode())
    return {"mediaType": _OCI_MANIFEST, **ref, "platform": {"architecture": arch, "os": "linux"}}


def _write_layout(layout: Path, entries: list[dict]) -> Path:  # type: ignore[type-arg]
    index = {"schemaVersion": 2, "mediaType": _OCI_INDEX, "manifests": entries}
    ref = _blob(layout, json.dumps(index, sort_keys=True).encode())
    top = {
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": _OCI_INDEX, **ref,
            "annotations": {"org.opencontainers.image.ref.name": BASE_TAG},
        }],
    }  # fmt: skip
    (layout / "index.json").write_text(json.dumps(top))
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return layout


def python_base_layout(cache: Path, arches: tuple[str, ...] = ("amd64", "arm64")) -> Path:
    """An OCI layout (tag `python`): an index with one Debian Python image per arch."""
    roots = [debian_python_root(arch, cache) for arch in arches]
    key = hashlib.sha256("".join(r.name for r in roots).encode()).hexdigest()[:16]
    layout = cache / f"python-base-{key}"
    if (layout / "index.json").is_file():
        return layout
    shutil.rmtree(layout, ignore_errors=True)
    (layout / "blobs/sha256").mkdir(parents=True)
    env = ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"]
    pairs = zip(roots, arches, strict=True)
    entries = [_image(layout, root, arch, env, ()) for root, arch in pairs]
    return _write_layout(layout, entries)


def usr_local_base(cache: Path) -> Path:
    """An amd64 base laid out as the official `python:*` images: the build machine's
    interpreter under /usr/local (no dpkg record of it), Debian's C library below."""
    debian = debian_python_root("amd64", cache)
    prefix = Path(sysconfig.get_config_var("prefix"))
    version = sysconfig.get_python_version()
    key = hashlib.sha256(f"{debian.name}{prefix}{version}".encode()).hexdigest()[:16]
    layout = cache / f"usr-local-base-{key}"
    if (layout / "index.json").is_file():
        return layout
    shutil.rmtree(layout, ignore_errors=True)
    root = cache / f"usr-local-root-{key}"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(debian, root, symlinks=True)
    for name in ("usr/bin/python3.11", "usr/lib/python3.11"):
        target = root / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    status = root / "var/lib/dpkg/status"
    stanzas = status.read_text().split("\n\n")
    kept = [s for s in stanzas if "python3.11" not in s.partition("\n")[0]]
    status.write_text("\n\n".join(kept))
    _copy_prefix(prefix, version, root / "usr/local")
    (layout / "blobs/sha256").mkdir(parents=True)
    full = sysconfig.get_config_var("py_version") or version
    env = ["PATH=/usr/local/bin:/usr/bin:/bin", f"PYTHON_VERSION={full}"]
    entries = [_image(layout, root, "amd64", env, ())]
    shutil.rmtree(root)
    return _write_layout(layout, entries)


def _copy_prefix(prefix: Path, version: str, target: Path) -> None:
    (target / "bin").mkdir(parents=True)
    shutil.copy2(prefix / "bin" / f"python{version}", target / "bin" / f"python{version}")
    os.symlink(f"python{version}", target / "bin/python3")
    soname = sysconfig.get_config_var("INSTSONAME") or ""
    if sysconfig.get_config_var("Py_ENABLE_SHARED") and (prefix / "lib" / soname).exists():
        # no ld.so.cache here (no ldconfig run): the loader's default directory finds it
        shutil.copy2(prefix / "lib" / soname, target.parent / "lib/x86_64-linux-gnu" / soname)
    shutil.copytree(
        prefix / "lib" / f"python{version}",
        target / "lib" / f"python{version}",
        ignore=shutil.ignore_patterns("test", "site-packages", "__pycache__", "idlelib"),
    )


def run_foreign(
    root: Path,
    argv: list[str],
    arch: str = "arm64",
    timeout: float = 300,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `argv` inside `root` (an `arch` root file system) under qemu-user, by chroot."""
    qemu = shutil.which(_QEMU[arch])
    if qemu is None:
        message = f"{_QEMU[arch]} is missing: apt-get install qemu-user-static"
        raise RuntimeError(message)
    shutil.copy2(qemu, root / "qemu-static")
    try:
        return subprocess.run(
            [shutil.which("chroot") or "/usr/sbin/chroot", str(root), "/qemu-static", *argv],
            capture_output=True, text=True, timeout=timeout, check=False,
            env=env or {"PATH": "/app/bin:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"},
        )  # fmt: skip
    finally:
        (root / "qemu-static").unlink(missing_ok=True)
