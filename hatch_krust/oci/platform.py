"""The platform an image is for, modelled on go-containerregistry's `v1.Platform`.

One value type so that parsing `linux/arm64/v8`, printing it, reading it from a manifest and
matching a wanted platform against an offered one follow the same rules everywhere: the base
image pull, `--platform` of the CLI, the index a build writes, the host check before a
freeze. `UNAME_PLATFORMS` is the one map from `uname -m` names to OCI names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from hatch_krust.errors import ImageError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["UNAME_PLATFORMS", "Platform"]

# `uname -m` -> (OCI architecture, variant). Also the names people write by habit
# (`linux/x86_64`), so that configuration can suggest the OCI spelling.
UNAME_PLATFORMS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "x86_64": ("amd64", ""),
        "x86-64": ("amd64", ""),
        "amd64": ("amd64", ""),
        "i386": ("386", ""),
        "i686": ("386", ""),
        "aarch64": ("arm64", "v8"),
        "arm64": ("arm64", "v8"),
        "armv6l": ("arm", "v6"),
        "armv7l": ("arm", "v7"),
        "ppc64le": ("ppc64le", ""),
        "s390x": ("s390x", ""),
        "riscv64": ("riscv64", ""),
    }
)

# A variant that is implied when absent: containerd and go-containerregistry treat
# linux/arm64 and linux/arm64/v8 as the same platform, and registries list both spellings.
_DEFAULT_VARIANTS = MappingProxyType({"arm64": "v8"})


@dataclass(frozen=True)
class Platform:
    """`os/architecture[/variant][:os.version]`, plus the feature lists of the OCI JSON."""

    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""
    os_features: tuple[str, ...] = ()
    features: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Platform:
        """`linux/amd64`, `linux/arm64/v8`, `windows/amd64:10.0.17763`; ImageError otherwise."""
        spec, _, os_version = text.strip().partition(":")
        parts = spec.split("/")
        if len(parts) not in (2, 3) or not all(parts) or (":" in text and not os_version):
            message = f"Invalid platform {text!r}: expected os/arch or os/arch/variant"
            raise ImageError(message)
        variant = parts[2] if len(parts) == 3 else ""
        return cls(parts[0], parts[1], variant, os_version)

    @classmethod
    def from_uname(cls, machine: str, os: str = "linux") -> Platform:
        """The OCI platform for a `uname -m` name (`aarch64` -> linux/arm64/v8)."""
        name = machine.lower()
        architecture, variant = UNAME_PLATFORMS.get(name, (name, ""))
        return cls(os, architecture, variant)

    @classmethod
    def host(cls) -> Platform:
        """This machine's platform: the only one a freeze here can produce."""
        import platform as _host  # only builds ask; a push need not load it

        return cls.from_uname(_host.machine())

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Platform:
        """From a descriptor's `platform` object or the top level of an image config."""
        return cls(
            os=_string(data.get("os"), "os"),
            architecture=_string(data.get("architecture"), "architecture"),
            variant=_string(data.get("variant"), "variant"),
            os_version=_string(data.get("os.version"), "os.version"),
            os_features=_strings(data.get("os.features"), "os.features"),
            features=_strings(data.get("features"), "features"),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            out["os.version"] = self.os_version
        if self.os_features:
            out["os.features"] = list(self.os_features)
        if self.variant:
            out["variant"] = self.variant
        if self.features:
            out["features"] = list(self.features)
        return out

    def __str__(self) -> str:
        text = "/".join(p for p in (self.os, self.architecture, self.variant) if p)
        return f"{text}:{self.os_version}" if self.os_version else text

    def normalized(self) -> Platform:
        """The same platform with an implied variant spelled out (linux/arm64 -> .../v8)."""
        if self.variant:
            return self
        return replace(self, variant=_DEFAULT_VARIANTS.get(self.architecture, ""))

    def satisfies(self, spec: Platform) -> bool:
        """Whether this (offered) platform meets `spec` (wanted): every field `spec` sets
        must match, and its feature lists must be contained in ours.

        Not symmetric: linux/arm/v7 satisfies linux/arm, not the other way round. An offered
        arm64 without a variant is arm64/v8, so it satisfies linux/arm64/v8.
        """
        have, want = self.normalized(), spec
        fields = (
            (want.os, have.os),
            (want.architecture, have.architecture),
            (want.variant, have.variant),
            (want.os_version, have.os_version),
        )
        return (
            all(not wanted or wanted == offered for wanted, offered in fields)
            and set(want.os_features) <= set(have.os_features)
            and set(want.features) <= set(have.features)
        )

    def suggestion(self) -> Platform:
        """The OCI spelling of a platform written with `uname -m` names (linux/x86_64 ->
        linux/amd64), an implied variant left out (linux/arm64/v8 -> linux/arm64)."""
        if self.architecture not in UNAME_PLATFORMS:
            return self
        architecture, variant = UNAME_PLATFORMS[self.architecture]
        variant = self.variant or variant
        if _DEFAULT_VARIANTS.get(architecture) == variant:
            variant = ""
        return replace(self, architecture=architecture, variant=variant)


def _string(value: object, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        message = f"The platform's `{field}` must be a string, not {value!r:.80}"
        raise ImageError(message)
    return value


def _strings(value: object, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        message = f"The platform's `{field}` must be a list of strings, not {value!r:.80}"
        raise ImageError(message)
    return tuple(value)
