"""Published names and options carry no path of the build machine (pure)."""

from __future__ import annotations

from pathlib import Path

from hatch_krust.building.public_paths import public_location, public_options, public_path


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


def test_an_interpreter_prefix_in_a_home_is_published_from_the_tilde() -> None:
    from hatch_krust.attest.facts import public_prefix

    assert public_prefix("/home/me/.pyenv/versions/3.12.4", "/home/me") == (
        "~/.pyenv/versions/3.12.4"
    )
    assert public_prefix("/home/me", "/home/me/") == "~"
    assert public_prefix("/home/meg/.pyenv", "/home/me") == "/home/meg/.pyenv"
    assert public_prefix("/usr", "/home/me") == "/usr"
    assert public_prefix("/usr", "") == "/usr"


def test_the_provenance_names_a_local_base_as_recorded() -> None:
    import json

    from hatch_krust.attest import BuildFacts
    from hatch_krust.attest.slsa import provenance_statement

    def base_uri(name: str) -> str:
        facts = BuildFacts(name="a", version="1", script="a", executable_path="/app/a",
                           executable_sha256="0" * 64, executable_size=1,
                           platform="linux/amd64", epoch=0, builder_version="0",
                           base_name=name, base_digest="sha256:" + "1" * 64)  # fmt: skip
        statement = json.loads(provenance_statement(facts))
        deps = statement["predicate"]["buildDefinition"]["resolvedDependencies"]
        return str(next(d for d in deps if d["name"] == "base-image")["uri"])

    assert base_uri("oci:debian:12") == "oci:debian:12"
    assert base_uri("cgr.dev/chainguard/static:latest") == "oci://cgr.dev/chainguard/static:latest"
