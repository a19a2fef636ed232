"""The provenance names no build-machine path in `wheel` or inside `pyinstaller-args`
(issue 21 item 6)."""

from __future__ import annotations

import json
from pathlib import Path

from hatch_krust.building.public_paths import public_options

ROOT = Path("/work/checkout-1")


def test_a_wheel_outside_the_project_is_named_by_its_file_name() -> None:
    options = {"wheel": "/home/alice/wheels/app-1.0-py3-none-any.whl"}
    assert public_options(options, ROOT) == {"wheel": "app-1.0-py3-none-any.whl"}
    inside = {"wheel": "/work/checkout-1/dist/app-1.0-py3-none-any.whl"}
    assert public_options(inside, ROOT) == {"wheel": "dist/app-1.0-py3-none-any.whl"}


def test_paths_inside_pyinstaller_args_are_made_public() -> None:
    options = {"pyinstaller-args": [
        "--add-data=/home/alice/private/data:data",
        "--add-binary", "/opt/vendor/lib/libx.so:.",
        "--icon=/home/alice/icon.ico",
        "--paths=/home/alice/src:/work/checkout-1/lib",
        "--add-data=/work/checkout-1/static:static",
        "--log-level=WARN",
        "--name=app",
    ]}
    published = public_options(options, ROOT)["pyinstaller-args"]
    assert published == [
        "--add-data=data:data",
        "--add-binary", "libx.so:.",
        "--icon=icon.ico",
        "--paths=src:lib",
        "--add-data=static:static",
        "--log-level=WARN",
        "--name=app",
    ]
    assert "/home/" not in json.dumps(published) and "/opt/" not in json.dumps(published)


def test_two_machines_agree() -> None:
    one = {"wheel": "/home/a/x.whl", "pyinstaller-args": ["--add-data=/home/a/d:d"]}
    two = {"wheel": "/srv/ci/x.whl", "pyinstaller-args": ["--add-data=/srv/ci/d:d"]}
    assert public_options(one, ROOT) == public_options(two, Path("/elsewhere"))
