"""Assembling an image on scratch and on a base held in a layout (no running here)."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import certifi
import pytest

from hatch_krust.errors import ImageError
from hatch_krust.oci.assemble import (
    BASE_DIGEST,
    BASE_NAME,
    BaseImage,
    ImageOptions,
    assemble,
    merge_env,
)
from hatch_krust.oci.descriptor import Descriptor, Platform
from hatch_krust.oci.layout import Layout
from hatch_krust.oci.mediatypes import (
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
)
from tests.oci.images import make_base

AMD64 = Platform("linux", "amd64")
PASSWD = b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
GROUP = b"root:x:0:\napp:x:1000:\n"


class Built:
    """What assemble wrote, read back: index, manifest, config and the new layer's tar."""

    def __init__(self, layout: Layout, index: Descriptor) -> None:
        self.layout = layout
        self.index_descriptor = index
        self.index = layout.read_json(index.digest)
        entry = self.index["manifests"][0]
        self.manifest_entry = entry
        self.manifest = layout.read_json(entry["digest"])
        self.config = layout.read_json(self.manifest["config"]["digest"])
        top = self.manifest["layers"][-1]["digest"]
        with tarfile.open(layout.blob_path(top)) as tar:
            self.members = {m.name: m for m in tar.getmembers()}
            self.files = {
                m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers()
                if m.isreg() and m.name != "app/hello"
            }

    @property
    def env(self) -> dict[str, str]:
        return dict(e.split("=", 1) for e in self.config["config"]["Env"])


def build(
    tmp_path: Path,
    executable: Path,
    base: BaseImage | None = None,
    sub: str = "out",
    **options: Any,
) -> Built:
    layout = Layout.create(tmp_path / sub)
    opts = ImageOptions(name="hello", platform=options.pop("platform", AMD64), **options)
    return Built(layout, assemble(base, executable, opts, layout))


def base_image(root: Path, layers: list, **kwargs: Any) -> BaseImage:
    make_base(root, layers, **kwargs)
    return BaseImage.from_layout(Layout.open(root), "base")


# --- scratch ---------------------------------------------------------------------------


def test_scratch_image_contents(tmp_path: Path, small_executable: Path):
    built = build(tmp_path, small_executable)
    assert sorted(built.members) == [
        "app",
        "app/hello",
        "etc",
        "etc/group",
        "etc/passwd",
        "etc/ssl",
        "etc/ssl/certs",
        "etc/ssl/certs/ca-certificates.crt",
        "home",
        "home/nonroot",
        "tmp",
    ]
    assert built.members["app/hello"].mode == 0o755
    assert built.members["tmp"].mode == 0o1777
    home = built.members["home/nonroot"]
    assert (home.uid, home.gid) == (65532, 65532), "the run-as user owns its home"
    assert b"nonroot:x:65532:65532:nonroot:/home/nonroot:" in built.files["etc/passwd"]
    assert built.files["etc/passwd"].startswith(b"root:x:0:0:")
    assert built.files["etc/group"] == b"root:x:0:\nnonroot:x:65532:\n"
    assert built.files["etc/ssl/certs/ca-certificates.crt"] == Path(certifi.where()).read_bytes()


def test_scratch_image_config_and_index(tmp_path: Path, small_executable: Path):
    built = build(tmp_path, small_executable, args=("serve", "--port", "8080"))
    assert built.index_descriptor.media_type == OCI_INDEX
    assert built.index["mediaType"] == OCI_INDEX
    assert len(built.index["manifests"]) == 1
    assert built.manifest_entry["platform"] == {"architecture": "amd64", "os": "linux"}
    assert built.manifest["mediaType"] == OCI_MANIFEST
    assert [layer["mediaType"] for layer in built.manifest["layers"]] == [OCI_LAYER_GZIP]
    assert "annotations" not in built.manifest, "no base annotations on scratch"
    config = built.config
    assert config["created"] == "1970-01-01T00:00:00Z"
    assert config["config"]["Entrypoint"] == ["/app/hello"]
    assert config["config"]["Cmd"] == ["serve", "--port", "8080"]
    assert config["config"]["User"] == "65532"
    assert built.env == {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/app",
        "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
    }
    assert len(config["rootfs"]["diff_ids"]) == 1
    assert config["history"] == [
        {
            "created": "1970-01-01T00:00:00Z",
            "created_by": "hatch-krust",
            "comment": "/app/hello and runtime files",
        }
    ]


def test_same_inputs_give_the_same_index_digest(tmp_path: Path, small_executable: Path):
    opts = {"epoch": 1700000000, "labels": {"b": "2", "a": "1"}, "env": {"Z": "1", "A": "2"}}
    first = build(tmp_path, small_executable, sub="one", **opts)
    second = build(tmp_path, small_executable, sub="two", **opts)
    assert first.index_descriptor.digest == second.index_descriptor.digest
    assert first.config["created"] == "2023-11-14T22:13:20Z"
    assert all(m.mtime == 1700000000 for m in first.members.values())
    third = build(tmp_path, small_executable, sub="three", epoch=1700000001)
    assert third.index_descriptor.digest != first.index_descriptor.digest


def test_annotations_labels_ports_workdir_and_user(tmp_path: Path, small_executable: Path):
    built = build(
        tmp_path,
        small_executable,
        annotations={"org.opencontainers.image.version": "1.2.3"},
        labels={"team": "core"},
        exposed_ports=("8080", "53/udp"),
        workdir="/data",
        user="1000:2000",
    )
    assert built.manifest["annotations"] == {"org.opencontainers.image.version": "1.2.3"}
    assert built.index["annotations"] == {"org.opencontainers.image.version": "1.2.3"}
    run = built.config["config"]
    assert run["Labels"] == {"team": "core"}
    assert run["ExposedPorts"] == {"53/udp": {}, "8080/tcp": {}}
    assert run["WorkingDir"] == "/data"
    assert run["User"] == "1000:2000"
    assert b"user1000:x:1000:2000:user1000:/home/user1000:" in built.files["etc/passwd"]
    assert built.files["etc/group"] == b"root:x:0:\ngroup2000:x:2000:\n"


def test_ca_certificates_false_ships_no_bundle(tmp_path: Path, small_executable: Path):
    built = build(tmp_path, small_executable, ca_certificates=False)
    assert "etc/ssl/certs/ca-certificates.crt" not in built.members
    assert "SSL_CERT_FILE" not in built.env


def test_ca_certificates_path_ships_that_bundle(tmp_path: Path, small_executable: Path):
    pem = tmp_path / "ca.pem"
    pem.write_bytes(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    built = build(tmp_path, small_executable, ca_certificates=pem)
    assert built.files["etc/ssl/certs/ca-certificates.crt"] == pem.read_bytes()
    not_pem = tmp_path / "x.txt"
    not_pem.write_text("hello")
    with pytest.raises(ImageError, match="holds no PEM certificate"):
        build(tmp_path, small_executable, sub="bad", ca_certificates=not_pem)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "../x"}, "Invalid executable name '../x'"),
        ({"env": {"A=B": "1"}}, "Invalid environment variable name 'A=B'"),
        ({"exposed_ports": ("http",)}, "Invalid port 'http'"),
        ({"user": "bad user"}, "Invalid user 'bad user'"),
        ({"workdir": "relative"}, "workdir must be absolute"),
        ({"epoch": -1}, "epoch must not be negative"),
    ],
)
def test_invalid_options(options: dict[str, Any], message: str):
    with pytest.raises(ImageError, match=message):
        ImageOptions(**{"name": "hello", "platform": AMD64, **options})


def test_unknown_user_name_on_scratch(tmp_path: Path, small_executable: Path):
    with pytest.raises(ImageError, match="User 'alice' is not in the base image's /etc/passwd"):
        build(tmp_path, small_executable, user="alice")


def test_missing_executable(tmp_path: Path):
    with pytest.raises(ImageError, match="does not exist"):
        build(tmp_path, tmp_path / "nope")


# --- on a base -------------------------------------------------------------------------


def test_base_layers_env_user_labels_and_annotations(tmp_path: Path, small_executable: Path):
    base = base_image(
        tmp_path / "base",
        [
            {"etc/": None, "etc/passwd": PASSWD, "etc/group": GROUP},
            {"tmp/": None, "usr/bin/tool": b"#!"},
        ],
        config={
            "Env": ["PATH=/usr/bin:/bin", "LANG=C.UTF-8", "KEEP=base"],
            "User": "app",
            "Labels": {"from": "base", "team": "base"},
            "WorkingDir": "/srv",
            "Cmd": ["/bin/sh"],
            "StopSignal": "SIGINT",
        },
    )
    built = build(
        tmp_path,
        small_executable,
        base,
        env={"KEEP": "ours", "NEW": "1"},
        labels={"team": "ours"},
        base_name="example.org/base:1",
    )
    base_manifest = load_base_manifest(base)
    assert built.manifest["layers"][:2] == base_manifest["layers"]
    assert len(built.manifest["layers"]) == 3
    for layer in base_manifest["layers"]:
        assert built.layout.has_blob(layer["digest"]), "base layers are copied into the layout"
    assert built.manifest["annotations"] == {
        BASE_NAME: "example.org/base:1",
        BASE_DIGEST: base.descriptor.digest,
    }
    run = built.config["config"]
    assert run["Env"] == [
        "PATH=/usr/bin:/bin:/app",
        "LANG=C.UTF-8",
        "KEEP=ours",
        "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
        "NEW=1",
    ]
    assert run["User"] == "65532", "our default user replaces the base's"
    assert run["Labels"] == {"from": "base", "team": "ours"}
    assert run["WorkingDir"] == "/srv"
    assert "Cmd" not in run, "the base's Cmd belongs to its own entrypoint"
    assert run["StopSignal"] == "SIGINT"
    assert len(built.config["rootfs"]["diff_ids"]) == 3
    assert [h.get("created_by") for h in built.config["history"]] == [
        "base layer 0",
        "base layer 1",
        "hatch-krust",
    ]
    # The base has /tmp; its passwd lacks 65532, so the entry is appended to the base's file.
    assert "tmp" not in built.members
    assert built.files["etc/passwd"] == PASSWD + (
        b"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
    )
    assert built.files["etc/group"] == GROUP + b"nonroot:x:65532:\n"


def load_base_manifest(base: BaseImage) -> dict[str, Any]:
    index = base.layout.read_json(base.descriptor.digest)
    return base.layout.read_json(index["manifests"][0]["digest"])


def test_base_user_known_to_the_base_adds_no_accounts(tmp_path: Path, small_executable: Path):
    base = base_image(
        tmp_path / "base",
        [{"etc/passwd": PASSWD, "etc/group": GROUP, "etc/ssl/cert.pem": b"PEM"}],
        config={"Env": ["SSL_CERT_FILE=/etc/ssl/cert.pem"]},
    )
    built = build(tmp_path, small_executable, base, user="app", base_digest="sha256:" + "a" * 64)
    assert "etc/passwd" not in built.files
    assert "etc/group" not in built.files
    assert not any(name.startswith("home") for name in built.members)
    assert "etc/ssl/certs/ca-certificates.crt" not in built.files, "the base has a bundle"
    assert built.env["SSL_CERT_FILE"] == "/etc/ssl/cert.pem"
    assert built.manifest["annotations"][BASE_DIGEST] == "sha256:" + "a" * 64
    assert BASE_NAME not in built.manifest["annotations"]


def test_base_bundle_found_without_env(tmp_path: Path, small_executable: Path):
    base = base_image(tmp_path / "base", [{"etc/pki/tls/certs/ca-bundle.crt": b"PEM"}])
    built = build(tmp_path, small_executable, base)
    assert "etc/ssl/certs/ca-certificates.crt" not in built.files
    assert built.env["SSL_CERT_FILE"] == "/etc/pki/tls/certs/ca-bundle.crt"


def test_whiteouts_remove_what_lower_layers_had(tmp_path: Path, small_executable: Path):
    base = base_image(
        tmp_path / "base",
        [
            {"etc/passwd": PASSWD, "etc/group": GROUP, "tmp/": None, "etc/ssl/cert.pem": b"P"},
            {"etc/.wh.passwd": b"", "tmp/.wh..wh..opq": b"", "etc/ssl/.wh..wh..opq": b""},
            {"etc/.wh.group": b""},
        ],
    )
    built = build(tmp_path, small_executable, base)
    assert built.files["etc/passwd"].startswith(b"root:x:0:0:root:/root:/sbin/nologin\n")
    assert built.files["etc/group"] == b"root:x:0:\nnonroot:x:65532:\n"
    assert "tmp" not in built.members, "an opaque /tmp still exists"
    assert "etc/ssl/certs/ca-certificates.crt" in built.files


def test_docker_base_gives_docker_media_types(tmp_path: Path, small_executable: Path):
    base = base_image(tmp_path / "base", [{"tmp/": None}], docker=True)
    built = build(tmp_path, small_executable, base)
    assert built.index["mediaType"] == DOCKER_LIST
    assert built.manifest["mediaType"] == DOCKER_MANIFEST
    assert built.manifest["config"]["mediaType"] == DOCKER_CONFIG
    assert {layer["mediaType"] for layer in built.manifest["layers"]} == {DOCKER_LAYER_GZIP}


def test_base_without_the_platform(tmp_path: Path, small_executable: Path):
    base = base_image(tmp_path / "base", [{}], platforms=(("linux", "arm64"),))
    with pytest.raises(ImageError, match=r"has no linux/amd64 variant \(it has: linux/arm64\)"):
        build(tmp_path, small_executable, base)


def test_base_in_the_same_layout(tmp_path: Path, small_executable: Path):
    make_base(tmp_path / "img", [{"tmp/": None}])
    layout = Layout.open(tmp_path / "img")
    index = assemble(
        BaseImage.from_layout(layout, "base"),
        small_executable,
        ImageOptions("hello", AMD64),
        layout,
    )
    layout.add_manifest(index, "latest")
    assert {d.annotations["org.opencontainers.image.ref.name"] for d in layout.descriptors()} == {
        "base",
        "latest",
    }


def test_merge_env_rules():
    assert merge_env((), {}, None, shipped_cert=False) == (
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/app",
    )
    assert merge_env(("PATH=/app:/bin",), {}, None, shipped_cert=False) == ("PATH=/app:/bin",)
    base = ("SSL_CERT_FILE=/base.pem",)
    assert "SSL_CERT_FILE=/base.pem" in merge_env(base, {}, "/x", shipped_cert=False)
    assert "SSL_CERT_FILE=/x" in merge_env(base, {}, "/x", shipped_cert=True)
    assert "SSL_CERT_FILE=/mine" in merge_env(
        base, {"SSL_CERT_FILE": "/mine"}, "/x", shipped_cert=True
    )
    assert "PATH=/opt:/app" in merge_env((), {"PATH": "/opt"}, None, shipped_cert=False)


def test_index_json_untouched_by_assemble(tmp_path: Path, small_executable: Path):
    built = build(tmp_path, small_executable)
    assert json.loads((built.layout.root / "index.json").read_text())["manifests"] == []
