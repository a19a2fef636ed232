"""`extra-files`: the checks that name the option, and the entries (modes, owner, order)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hatch_krust.building.extra_files import extra_entries, record_in_bundle
from hatch_krust.config import load_config
from hatch_krust.errors import ConfigError


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "static/css").mkdir(parents=True)
    (root / "static/css/site.css").write_text("body {}\n")
    (root / "static/run.sh").write_text("#!/bin/sh\n")
    (root / "static/run.sh").chmod(0o700)
    (root / "deploy").mkdir()
    (root / "deploy/config.toml").write_text("a = 1\n")
    (root / "deploy/config.toml").chmod(0o600)
    (tmp_path / "secret").write_text("outside\n")
    return root


def _entries(root: Path, table: dict[str, str]):  # type: ignore[no-untyped-def]
    config = load_config({"extra-files": table}, env={}, user_defaults={})
    return extra_entries(config, root)


def test_files_and_trees_get_normalised_modes_and_root_owner(tmp_path: Path) -> None:
    root = _project(tmp_path)
    entries = _entries(
        root, {"/srv/static": "static", "/etc/app/config.toml": "deploy/config.toml"}
    )
    by_path = {e.path: e for e in entries}
    assert [e.path for e in entries] == sorted(by_path)
    assert by_path["/etc/app/config.toml"].mode == 0o644  # 0600 in the project
    assert by_path["/srv/static/run.sh"].mode == 0o755
    assert by_path["/srv/static/css/site.css"].mode == 0o644
    assert by_path["/srv/static"].is_dir and by_path["/srv/static/css"].mode == 0o755
    assert all((e.uid, e.gid) == (0, 0) for e in entries)


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"/srv/x": "../secret"}, "outside the project"),
        ({"/srv/x": "/etc/passwd"}, "outside the project"),
        ({"/srv/x": "missing.txt"}, "does not exist"),
        ({"relative/path": "static"}, "not an absolute path"),
        ({"/app/hello": "static/run.sh"}, "over the program or the interpreter"),
        ({"/opt/python/lib": "static"}, "over the program or the interpreter"),
    ],
)
def test_bad_paths_are_refused_naming_the_option(
    tmp_path: Path, table: dict[str, str], words: str
) -> None:
    root = _project(tmp_path)
    with pytest.raises(ConfigError) as caught:
        _entries(root, table)
    message = str(caught.value)
    assert "`tool.hatch.build.targets.krust.extra-files`" in message and words in message


def test_a_link_out_of_the_project_is_refused(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "static/leak").symlink_to(tmp_path / "secret")
    with pytest.raises(ConfigError, match="outside the project"):
        _entries(root, {"/srv/static": "static"})


def test_the_sbom_lists_them_as_files_of_the_project(tmp_path: Path) -> None:
    root = _project(tmp_path)
    entries = _entries(root, {"/etc/app/config.toml": "deploy/config.toml"})
    bundle = {"distributions": [{"name": "My_App", "version": "1", "files": []}]}
    record_in_bundle(bundle, ("my-app", "1"), entries)
    files = bundle["distributions"][0]["files"]
    assert [f["path"] for f in files] == ["/etc/app/config.toml"]
    assert (len(files[0]["sha256"]), len(files[0]["sha1"])) == (64, 40)


def _packaged(name: str):  # type: ignore[no-untyped-def]
    from hatch_krust.formats import Bundle, Packaged, Program

    def put(*_args: object) -> None:
        raise AssertionError("not assembled here")

    dists = ({"name": "my-app", "version": "1", "files": []}, {"name": name, "version": "2"})
    return Packaged(
        format="layered",
        script="my-app",
        program=Program("Console script (layered image)", "/app/bin/my-app", "00", 1),
        installs=(),
        bundle=Bundle(distributions=dists, packed=False),
        tools={},
        wheel_name="my_app-1-py3-none-any.whl",
        wheel_sha256="00",
        assemble=put,  # type: ignore[arg-type]
    )


def test_every_platform_of_a_multi_platform_image_lists_the_extra_files(tmp_path: Path) -> None:
    """Each platform's image holds the extra-files layer: each platform's SBOM lists them."""
    from dataclasses import replace

    from hatch_krust.building.extra_files import root_options
    from hatch_krust.inputs import BuildInputs

    root = _project(tmp_path)
    config = load_config(
        {"extra-files": {"/etc/app/config.toml": "deploy/config.toml"}}, env={}, user_defaults={}
    )
    inputs = BuildInputs(root, "my-app", "1", {}, config, 0, tmp_path / "out")
    arm64 = _packaged("wheel-for-arm64")
    packaged = replace(_packaged("wheel-for-amd64"), platforms=(("linux/arm64", arm64),))
    done, options = root_options(inputs, packaged)
    assert [e.path for e in options["extra_files"]] == ["/etc/app/config.toml"]
    for own in (done, dict(done.platforms)["linux/arm64"]):
        project = own.bundle.distributions[0]
        assert [f["path"] for f in project["files"]] == ["/etc/app/config.toml"]
    # each platform keeps its own wheels
    assert dict(done.platforms)["linux/arm64"].bundle.distributions[1]["name"] == "wheel-for-arm64"


def test_what_assembling_shipped_goes_to_the_platform_whose_image_got_it() -> None:
    from dataclasses import replace

    from hatch_krust.building.extra_files import with_shipped

    packaged = replace(
        _packaged("a"),
        platforms=(("linux/arm64", _packaged("b")), ("linux/s390x", _packaged("c"))),
    )
    zones = {"name": "zoneinfo", "bundled_by": "runtime-files", "sha256": "11"}
    shipped = [{**zones, "platform": "linux/amd64"}, {**zones, "platform": "linux/arm64"}]
    done = with_shipped(packaged, shipped)
    others = dict(done.platforms)
    assert [dict(n) for n in done.bundle.native] == [zones]  # without its platform
    assert [dict(n) for n in others["linux/arm64"].bundle.native] == [zones]
    assert others["linux/s390x"].bundle.native == ()  # that image got no zone layer
