"""Published names and options carry no path of the build machine (pure)."""

from __future__ import annotations

from pathlib import Path

from hatch_krust.build.public_paths import public_location, public_options, public_path


def test_paths_inside_the_project_are_relative_outside_only_their_name() -> None:
    root = Path("/home/me/src/app")
    assert public_path("/home/me/src/app/bases/deb", root) == "bases/deb"
    assert public_path("/home/me/src/app", root) == "."
    assert public_path("/home/me/src/app/../other/x", root) == "x"
    assert public_path("/usr/bin/python3.11", root) == "python3.11"
    assert public_location("oci:/tmp/pytest-1/base/oci:latest", root) == "oci:oci:latest"
    assert public_location("oci-archive:/home/me/src/app/b.tar:v1", root) == (
        "oci-archive:b.tar:v1"
    )
    assert public_location("oci:/srv/layouts/debian", root) == "oci:debian"
    assert public_location("cgr.dev/chainguard/static:latest", root) == (
        "cgr.dev/chainguard/static:latest"
    )


def test_options_for_the_provenance() -> None:
    root = Path("/work/checkout-1")
    options = {
        "python": "/work/checkout-1/.venv/bin/python",
        "base-image": "oci:/tmp/x/base:latest",
        "ca-certificates": "/etc/ssl/private/corp.pem",
        "output-dir": None,
        "pyinstaller-args": ["--add-data=/work/checkout-1/data:data", "--log-level=WARN"],
        "env": [["DATA", "/work/checkout-1"]],
        "cache": True,
        "user": "65532",
    }
    assert public_options(options, root) == {
        "python": ".venv/bin/python",
        "base-image": "oci:base:latest",
        "ca-certificates": "corp.pem",
        "output-dir": None,
        "pyinstaller-args": ["--add-data=data:data", "--log-level=WARN"],
        "env": [["DATA", "."]],
        "cache": True,
        "user": "65532",
    }
    other = {**options, "python": "/elsewhere/checkout-2/.venv/bin/python",
             "base-image": "oci:/var/tmp/y/base:latest"}  # fmt: skip
    moved = {k: v.replace("checkout-1", "checkout-2") if isinstance(v, str) else v
             for k, v in other.items()}  # fmt: skip
    moved["pyinstaller-args"] = ["--add-data=/elsewhere/checkout-2/data:data", "--log-level=WARN"]
    moved["env"] = [["DATA", "/elsewhere/checkout-2"]]
    assert public_options(moved, Path("/elsewhere/checkout-2")) == public_options(options, root)
