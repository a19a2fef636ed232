"""The one platform model: parse, print, OCI JSON, `satisfies` and the host."""

from __future__ import annotations

import platform as host

import pytest

from hatch_krust.errors import ImageError
from hatch_krust.oci import descriptor
from hatch_krust.oci.platform import UNAME_PLATFORMS, Platform

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64")
ARM64_V8 = Platform("linux", "arm64", "v8")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("linux/amd64", AMD64),
        ("linux/arm64/v8", ARM64_V8),
        ("  linux/arm/v7\n", Platform("linux", "arm", "v7")),
        ("windows/amd64:10.0.17763", Platform("windows", "amd64", os_version="10.0.17763")),
    ],
)
def test_parse_and_print_round_trip(text: str, expected: Platform) -> None:
    parsed = Platform.parse(text)
    assert parsed == expected
    assert str(parsed) == text.strip()
    assert Platform.parse(str(parsed)) == parsed


@pytest.mark.parametrize(
    "text", ["linux", "linux/", "/amd64", "linux/arm/v7/extra", "linux//v7", "", "linux/amd64:"]
)
def test_bad_platforms_are_named(text: str) -> None:
    with pytest.raises(ImageError) as caught:
        Platform.parse(text)
    assert str(caught.value) == (f"Invalid platform {text!r}: expected os/arch or os/arch/variant")


def test_json_round_trip_and_omitted_fields() -> None:
    assert AMD64.to_json() == {"architecture": "amd64", "os": "linux"}
    full = {
        "architecture": "amd64",
        "os": "windows",
        "os.version": "10.0.17763.1879",
        "os.features": ["win32k"],
        "variant": "v2",
        "features": ["sse4"],
    }
    platform = Platform.from_json(full)
    assert platform == Platform("windows", "amd64", "v2", "10.0.17763.1879", ("win32k",), ("sse4",))
    assert platform.to_json() == full
    # An image config carries the platform at its top level among other fields.
    assert Platform.from_json({"os": "linux", "architecture": "arm64", "rootfs": {}}) == ARM64


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("os.features", "win32k", "The platform's `os.features` must be a list of strings"),
        ("features", [1], "The platform's `features` must be a list of strings"),
        ("architecture", ["amd64"], "The platform's `architecture` must be a string, not ['amd"),
        ("variant", 8, "The platform's `variant` must be a string, not 8"),
    ],
)
def test_malformed_fields_are_image_errors(field: str, value: object, expected: str) -> None:
    with pytest.raises(ImageError) as caught:
        Platform.from_json({"os": "linux", "architecture": "amd64", field: value})
    assert str(caught.value).startswith(expected)


def test_null_fields_are_absent() -> None:
    data = {"os": "linux", "architecture": "arm64", "variant": None, "os.features": None}
    assert Platform.from_json(data) == ARM64


def test_descriptors_carry_the_same_type() -> None:
    assert descriptor.Platform is Platform
    data = {
        "mediaType": "x",
        "digest": "sha256:" + "0" * 64,
        "size": 1,
        "platform": {"os": "linux", "architecture": "arm", "variant": "v7"},
    }
    assert descriptor.Descriptor.from_json(data).platform == Platform.parse("linux/arm/v7")


@pytest.mark.parametrize(
    ("offered", "wanted", "expected"),
    [
        ("linux/amd64", "linux/amd64", True),
        ("linux/arm64", "linux/amd64", False),
        ("windows/amd64", "linux/amd64", False),
        # arm64 without a variant is arm64/v8, whichever side names the variant
        ("linux/arm64", "linux/arm64/v8", True),
        ("linux/arm64/v8", "linux/arm64", True),
        ("linux/arm64", "linux/arm64/v9", False),
        # a wanted platform without a variant takes any; not the other way round
        ("linux/arm/v7", "linux/arm", True),
        ("linux/arm", "linux/arm/v7", False),
        ("linux/arm/v6", "linux/arm/v7", False),
        ("linux/amd64", "linux/amd64/v2", False),
        ("windows/amd64:10.0.17763", "windows/amd64", True),
        ("windows/amd64", "windows/amd64:10.0.17763", False),
    ],
)
def test_satisfies(offered: str, wanted: str, expected: bool) -> None:
    assert Platform.parse(offered).satisfies(Platform.parse(wanted)) is expected


def test_satisfies_needs_the_wanted_features() -> None:
    have = Platform("linux", "amd64", features=("sse4", "avx"))
    assert have.satisfies(Platform("linux", "amd64", features=("avx",)))
    assert not have.satisfies(Platform("linux", "amd64", features=("avx512",)))
    assert not AMD64.satisfies(Platform("linux", "amd64", os_features=("x",)))


@pytest.mark.parametrize(
    ("machine", "expected"),
    [
        ("x86_64", "linux/amd64"),
        ("aarch64", "linux/arm64/v8"),
        ("armv7l", "linux/arm/v7"),
        ("s390x", "linux/s390x"),
        ("loongarch64", "linux/loongarch64"),  # unknown names pass through, lower-cased
        ("MIPS64", "linux/mips64"),
    ],
)
def test_from_uname(machine: str, expected: str) -> None:
    assert str(Platform.from_uname(machine)) == expected


def test_host_is_this_machine() -> None:
    machine = host.machine().lower()
    architecture, variant = UNAME_PLATFORMS.get(machine, (machine, ""))
    assert Platform.host() == Platform("linux", architecture, variant)
    assert Platform.host().satisfies(Platform.parse(f"linux/{architecture}"))


@pytest.mark.parametrize(
    ("written", "suggested"),
    [
        ("linux/x86_64", "linux/amd64"),
        ("linux/aarch64", "linux/arm64"),
        ("linux/armv7l", "linux/arm/v7"),
        ("linux/amd64", "linux/amd64"),
        ("linux/arm64/v8", "linux/arm64"),
        ("linux/mips64", "linux/mips64"),
    ],
)
def test_suggestion_spells_uname_names_the_oci_way(written: str, suggested: str) -> None:
    assert str(Platform.parse(written).suggestion()) == suggested
