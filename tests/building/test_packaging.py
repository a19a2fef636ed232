"""The `format` option and what the layered format hands the documents (no tools needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hatch_krust.attest import BuildFacts
from hatch_krust.attest.scanner_files import scanner_files
from hatch_krust.attest.slsa import provenance_statement, recorded_layers
from hatch_krust.attest.verify import ImageReport, _check_layers, _Image
from hatch_krust.config import load_config
from hatch_krust.errors import ConfigError
from hatch_krust.formats import format_for
from hatch_krust.formats.layered import LayeredFormat, layered_bundle
from hatch_krust.formats.static import StaticFormat
from hatch_krust.layered import LayeredPlan, SystemLibrary
from hatch_krust.layered.libraries import LibraryScan
from hatch_krust.layered.packages import Distribution


def config(table: dict[str, object], env: dict[str, str] | None = None):
    return load_config(table, env=env or {}, user_defaults={})


def test_format_defaults_to_layered_and_reads_the_environment() -> None:
    assert isinstance(format_for(config({})), LayeredFormat)
    assert isinstance(format_for(config({"format": "static"})), StaticFormat)
    assert isinstance(format_for(config({}, {"KRUST_FORMAT": "static"})), StaticFormat)
    assert isinstance(format_for(config({}, {"KRUST_FORMAT": "layered"})), LayeredFormat)


def test_an_unknown_format_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"KRUST_FORMAT.*\"static\" or \"layered\""):
        config({}, {"KRUST_FORMAT": "onedir"})
    with pytest.raises(ConfigError, match=r"format"):
        config({"format": "Layered"})


def _plan(tmp_path: Path) -> LayeredPlan:
    lib = tmp_path / "libc.so.6"
    lib.write_bytes(b"not really a libc")
    libc = SystemLibrary("/usr/lib/x86_64-linux-gnu/libc.so.6", lib, "libc6:amd64", "2.36-9")
    odd = SystemLibrary("/usr/lib/x86_64-linux-gnu/libodd.so.1", lib)  # no package knows it
    python = SystemLibrary("/opt/python/bin/python3.11", lib)
    return LayeredPlan(
        layers=(),
        libraries=LibraryScan((libc, odd), ()),
        distributions=(Distribution("PyYAML", "6.0.2"), Distribution("demo", "1.0")),
        scripts={"demo": "/app/bin/demo"},
        python_version="3.11.7",
        interpreter=python,
    )


def test_the_layered_bundle_names_libraries_with_their_debian_packages(tmp_path: Path) -> None:
    bundle = layered_bundle(_plan(tmp_path))
    native = {n["name"]: n for n in bundle.native}
    assert native["libc.so.6"]["debian"] == {
        "package": "libc6", "version": "2.36-9", "architecture": "amd64", "source": ""
    }
    assert "debian" not in native["libodd.so.1"]
    assert bundle.python["version"] == "3.11.7"
    assert [d["name"] for d in bundle.distributions] == ["demo", "PyYAML"]
    # scanners: a dpkg stanza for libc6 only; no copies of METADATA (the venv has them)
    files = dict(bundle.scanner_files())
    assert len(scanner_files(bundle.facts())) == 3  # were they packed: a METADATA each
    assert list(files) == ["/var/lib/dpkg/status.d/libc6"]
    assert b"Version: 2.36-9\n" in files["/var/lib/dpkg/status.d/libc6"]


def _facts(layers: tuple[tuple[str, str], ...]) -> BuildFacts:
    return BuildFacts(
        name="demo", version="1.0", script="demo", executable_path="/app/bin/demo",
        executable_sha256="ab" * 32, executable_size=10, platform="linux/amd64", epoch=0,
        builder_version="0", layers=layers,
    )  # fmt: skip


LAYERS = (("interpreter", "sha256:" + "1" * 64), ("project", "sha256:" + "2" * 64))


def test_the_provenance_records_the_layers_in_order() -> None:
    statement = json.loads(provenance_statement(_facts(LAYERS)))
    assert recorded_layers(statement) == list(LAYERS)
    assert "byproducts" not in json.loads(provenance_statement(_facts(())))["predicate"][
        "runDetails"
    ]


@pytest.mark.parametrize(
    ("diff_ids", "problem"),
    [
        (["sha256:" + "0" * 64, LAYERS[0][1], LAYERS[1][1]], None),
        ([LAYERS[0][1], "sha256:" + "3" * 64], "records the project layer as"),
        ([LAYERS[1][1]], "records the interpreter layer as"),
    ],
)
def test_verify_compares_the_recorded_layers_with_the_image(
    diff_ids: list[str], problem: str | None
) -> None:
    statement = json.loads(provenance_statement(_facts(LAYERS)))
    image = _Image(repo=None, manifest=None, config={"rootfs": {"diff_ids": diff_ids}})  # type: ignore[arg-type]
    report = ImageReport("sha256:x", "linux/amd64")
    _check_layers(image, statement, "provenance", report)
    if problem is None:
        assert report.problems == []
        assert report.checks == ["provenance: the layers interpreter, project are the image's"]
    else:
        assert len(report.problems) == 1
        assert problem in report.problems[0]


@pytest.mark.parametrize(
    ("environ", "said"),
    [({"KRUST_FORMAT": "layered"}, True), ({}, False)],
    ids=["format-asked-for", "default-format"],
)
def test_the_binary_target_says_it_stays_static_only_when_a_format_was_asked_for(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, environ: dict[str, str], said: bool
) -> None:
    """`layered` is the default: `krust:binary` says nothing unless a format was asked for."""
    import hatch_krust.formats.static as flow
    from hatch_krust.inputs import BuildInputs
    from tests.heard import Heard

    monkeypatch.setattr(
        flow, "build_executable", lambda inputs, reporter, out_dir: "static executable"
    )
    reporter = Heard()
    inputs = BuildInputs(
        root=tmp_path, dist_name="app", version="1.0", scripts={"app": "app:main"},
        config=config({}, environ), epoch=0, out_dir=tmp_path,
    )  # fmt: skip
    assert flow.build_binary(inputs, reporter) == "static executable"  # type: ignore[comparison-overlap]
    if said:
        (line,) = reporter.lines
        assert "KRUST_FORMAT" in line and "`krust:binary` makes the static executable" in line
    else:
        assert reporter.lines == []


@pytest.mark.parametrize(
    ("files", "warned"),
    [
        ({"etc/": None, "etc/ld.so.cache": b"cache"}, True),
        ({"usr/": None, "usr/lib/": None, "usr/lib/x86_64-linux-gnu/": None,
          "usr/lib/x86_64-linux-gnu/libc.so.6": b"libc"}, True),
        ({"etc/": None, "etc/os-release": b"ID=static"}, False),
    ],
)  # fmt: skip
def test_a_base_with_its_own_c_library_is_warned_about(
    tmp_path: Path, files: dict, warned: bool
) -> None:
    from hatch_krust.layered import assemble_layered
    from hatch_krust.oci.assemble import BaseImage, ImageOptions
    from hatch_krust.oci.descriptor import Platform
    from hatch_krust.oci.layout import Layout
    from tests.oci.images import make_base

    make_base(tmp_path / "base", [files])
    base = BaseImage.from_layout(Layout.open(tmp_path / "base"), "base")
    heard: list[str] = []
    options = ImageOptions("demo", Platform("linux", "amd64"), ca_certificates=False)
    layout = Layout.create(tmp_path / "image")
    assemble_layered(base, (), options, layout, entrypoint=("/x",), warn=heard.append)
    assert bool(heard) is warned
    if warned:
        assert "C library of its own" in heard[0]
