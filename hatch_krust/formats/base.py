"""What every format hands the build: the values and the protocol of the format seam.

A format turns the build's inputs into a `Packaged`: the program it made (`Program`),
what is inside it (`Bundle`), the files it installs in `dist/krust/` and an `assemble`
step that writes the image on a base. The build, the record and the documents read these
values; none of them asks which format made them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from hatch_krust.attest.scanner_files import dpkg_status_files, scanner_files

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from hatch_krust.config import KrustConfig
    from hatch_krust.inputs import BuildInputs
    from hatch_krust.oci.assemble import BaseImage, ImageOptions
    from hatch_krust.oci.descriptor import Descriptor
    from hatch_krust.oci.layout import Layout
    from hatch_krust.oci.platform import Platform
    from hatch_krust.progress import Reporter

__all__ = ["BaseSource", "Bundle", "Format", "Packaged", "Program"]


@dataclass(frozen=True)
class Program:
    """The file in the image the SBOM and the provenance name and `hatch-krust verify`
    hashes: `kind` says what it is in the documents' words; `sha256` is hex."""

    kind: str
    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Bundle:
    """What is inside the program: the Python distributions, the interpreter and the
    native libraries (each a mapping in the documents' shape), the installed METADATA of
    the distributions, and whether the distributions are `packed` into one file scanners
    cannot open (then the image carries a copy of each METADATA for them)."""

    distributions: tuple[Mapping[str, Any], ...] = ()
    python: Mapping[str, Any] = field(default_factory=dict)
    native: tuple[Mapping[str, Any], ...] = ()
    metadata: tuple[Mapping[str, Any], ...] = ()
    packed: bool = True

    @classmethod
    def of(cls, facts: Mapping[str, Any], *, packed: bool) -> Bundle:
        """The one way a bundle is made: from a freeze's (or the cache's) facts, or the
        layered plan's, in the documents' shape."""
        return cls(
            distributions=tuple(facts.get("distributions") or ()),
            python=dict(facts.get("python") or {}),
            native=tuple(facts.get("native") or ()),
            metadata=tuple(facts.get("metadata") or ()),
            packed=packed,
        )

    def facts(self) -> dict[str, Any]:
        """The documents' shape (`BuildFacts.bundle`)."""
        return {
            "distributions": [dict(d) for d in self.distributions],
            "metadata": [dict(m) for m in self.metadata],
            "python": dict(self.python),
            "native": [dict(n) for n in self.native],
        }

    def scanner_files(self) -> tuple[tuple[str, bytes], ...]:
        """(path, content) of the files that tell scanners what is inside: dpkg stanzas
        always; METADATA copies only when the distributions are packed out of sight."""
        facts = self.facts()
        return tuple(scanner_files(facts) if self.packed else dpkg_status_files(facts))


@dataclass(frozen=True)
class Packaged:
    """A project's program ready to go on a base, and the facts the documents need.

    `installs` are the files the build copies into `dist/krust/` beside the archive;
    `layers` the format's own layers, bottom first, as (name, diff_id): the provenance
    records them (none when the format has no layers of its own).
    """

    format: str  # its name, for messages and the record
    script: str
    program: Program
    installs: tuple[Path, ...]
    bundle: Bundle
    tools: dict[str, str]
    wheel_name: str
    wheel_sha256: str  # hex, of the wheel file
    assemble: Callable[[BaseImage | None, ImageOptions, Layout], Descriptor]
    layers: tuple[tuple[str, str], ...] = ()
    # the facts of each further platform of a multi-platform image, by platform: the build
    # writes their documents too (the first platform's are this value's own)
    platforms: tuple[tuple[str, Packaged], ...] = ()


class BaseSource(Protocol):
    """The base image, opened for the platforms a format asks for. The build provides it
    (`building.bases.BaseOpener`): a format reaches no registry itself. It opens nothing
    until asked and keeps what it opened, so a platform asked for again, the first one
    above all (the build opens it before the format runs), is the same image: each base
    manifest, config and blob is fetched and checked once a build."""

    def offered(self, *, every: bool, first: Platform) -> list[Platform] | None:
        """The platforms to choose from: all the base's index lists when `every`, else
        `first`; None for `scratch`."""
        ...

    def open(self, platform: Platform) -> BaseImage:
        """The base for `platform` (pulled or read; open until the build ends)."""
        ...


class Format(Protocol):
    """One image format.

    Every format gets the same `package` arguments, the `BaseSource` included, whether it
    reads the base or not: the static format (and the layered one with a bundled
    interpreter) puts its program on the one base the build opened, which `assemble` is
    given; the layered format on the base's Python opens each platform's base from the
    source. The source is kept in the protocol of every format, rather than given only
    to the formats that read it, because the build must not ask which format it has (the
    seam: only `formats/` asks), and the other ways to hand it to some formats only
    would move that question into the build (a second protocol and an `isinstance`) or
    make `format_for` take a build-time object, though `plan_image` calls it before any
    base is open. An unread source costs nothing: it opens only what is asked for.
    """

    name: str

    def first_platform(self, config: KrustConfig) -> Platform:
        """The `platforms` this format can build, checked before any work is done: the
        image's first platform (the one the index lists first)."""
        ...

    def package(
        self, inputs: BuildInputs, reporter: Reporter, work: Path, bases: BaseSource
    ) -> Packaged:
        """Do the format's work (freeze, or lay out layers) under `work`."""
        ...
