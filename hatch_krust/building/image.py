"""Assembling the image target: a project's program (in the `format` chosen) on a base,
as an OCI image index in a staged layout, with its archive, attestation documents and
build record.

`plan_image` makes every check that needs no work (platforms, tags, the repository, the
CA file); `build_image` then pulls the base, lets the format make the program (which
also uses the network: `uv pip compile` for the cache key, the wheel build's and the
installs' package index), assembles and writes everything into a work directory the
caller owns, and returns a `BuiltImage`. Installing it into `dist/krust/` and
publishing it are later steps (`hatch_krust.building.outputs`, `hatch_krust.publish`),
joined by the composition root `hatch_krust.flow`.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_krust.building.attestations import attestation_documents, platform_documents
from hatch_krust.building.bases import BaseOpener
from hatch_krust.building.built import BuiltImage
from hatch_krust.building.extra_files import extra_entries, root_options, with_shipped
from hatch_krust.building.git import GitState, git_state
from hatch_krust.building.public_paths import public_location
from hatch_krust.building.record import build_record
from hatch_krust.building.tags import release_only_templates, render_tags, tag_safe
from hatch_krust.errors import ConfigError, ImageError
from hatch_krust.formats import format_for
from hatch_krust.oci.annotations import image_annotations
from hatch_krust.oci.archive_names import image_name
from hatch_krust.oci.assemble import BaseImage, ImageOptions
from hatch_krust.oci.image import platforms_of
from hatch_krust.oci.layout import Layout, write_archive

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from hatch_krust.attest import Document
    from hatch_krust.config import KrustConfig
    from hatch_krust.formats import Packaged
    from hatch_krust.inputs import BuildInputs
    from hatch_krust.oci.descriptor import Descriptor, Platform
    from hatch_krust.oci.reference import Reference
    from hatch_krust.progress import Reporter

__all__ = [
    "BuiltImage",
    "ImagePlan",
    "ProjectFacts",
    "build_image",
    "file_stem",
    "open_base",
    "plan_image",
]


@dataclass(frozen=True)
class ProjectFacts:
    """Project metadata that ends up in annotations; plain strings."""

    description: str = ""
    licenses: str = ""
    urls: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImagePlan:
    """What was decided before any work: the platform, the tags, and the repository the
    image is for (None: built locally only)."""

    platform: Platform
    tags: tuple[str, ...]
    repository: str | None


def repository_name(template: str, project_name: str) -> str:
    name = re.sub(r"[^a-z0-9._-]+", "-", project_name.lower()).strip("-._")
    return template.replace("{name}", name)


@contextlib.contextmanager
def open_base(
    spec: str,
    platform: Platform,
    cache_root: Path,
    insecure: tuple[str, ...],
    reporter: Reporter,
    env: Mapping[str, str] | None = None,
    opener: BaseOpener | None = None,
) -> Iterator[tuple[BaseImage | None, str, str]]:
    """(base, name, digest) of `scratch`, `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`, a registry.

    Through `opener` (the build's, which the format also asks for each platform's base) a
    registry base is pulled, and an archive unpacked, once per build."""
    from hatch_krust.registry.api import LayoutLocation, parse_location

    if spec == "scratch":
        yield None, "", ""
        return
    location = parse_location(spec)
    with contextlib.ExitStack() as stack:
        if opener is None:
            opener = BaseOpener(spec, cache_root, insecure, reporter, env or {})
            stack.callback(opener.close)
        if isinstance(location, LayoutLocation):
            if not location.path.exists():
                kind = "file" if location.archive else "directory"
                message = f"The base image {spec!r} does not exist: no such {kind} {location.path}"
                raise ImageError(message)
            local = opener.local()
            assert local is not None  # a layout location
            yield BaseImage(*local), spec, local[1].digest
            return
        yield _pulled(opener, spec, location, platform, reporter)


def _pulled(
    opener: BaseOpener, spec: str, location: Reference, platform: Platform, reporter: Reporter
) -> tuple[BaseImage, str, str]:
    from hatch_krust.config import DEFAULT_BASE_IMAGE
    from hatch_krust.errors import RegistryError, TransportFailure

    try:
        base = opener.pull(platform)
    except TransportFailure as exc:
        if spec != DEFAULT_BASE_IMAGE:
            raise
        message = (
            f"{exc}. {spec} is the default base image and needs internet access: set "
            '`base-image = "scratch"` (or KRUST_BASE_IMAGE=scratch), a local `oci:DIR` '
            "layout or a registry you can reach"
        )
        raise RegistryError(message) from None
    if base.warning:
        reporter.display_info(f"Warning: {base.warning}")
    if base.from_cache:
        reporter.display_info(f"Base image {location} served from the cache (pinned by digest)")
    return base.image, str(location), base.base_digest


def image_options(
    config: KrustConfig,
    name: str,
    platform: Platform,
    epoch: int | None,
    annotations: dict[str, str],
    base_name: str,
    base_digest: str,
) -> ImageOptions:
    ca = ca_certificates(config)
    return ImageOptions(
        name=name,
        platform=platform,
        epoch=epoch,
        args=tuple(config.args) if config.args else None,
        env=dict(config.env),
        user=config.user,
        workdir="" if config.workdir == "/" else config.workdir,
        labels=dict(config.labels),
        exposed_ports=tuple(config.ports),
        annotations={**annotations, **dict(config.annotations)},  # the user's key wins
        ca_certificates=ca,
        base_name=base_name,
        base_digest=base_digest,
    )


def ca_certificates(config: KrustConfig) -> bool | Path:
    """The `ca-certificates` option, a named file checked to exist."""
    ca: bool | str = config.ca_certificates
    if not isinstance(ca, str):
        return ca
    if not Path(ca).is_file():
        message = (
            f"{config.origin('ca-certificates')} names {ca!r}, which is not a file; give the "
            "path of a PEM bundle, true or false"
        )
        raise ConfigError(message)
    return Path(ca)


def plan_image(inputs: BuildInputs, reporter: Reporter, template: str | None) -> ImagePlan:
    """Every check that needs no work done, so a mistake costs no freeze.

    `template` is the repository to push to (`{name}` for the project's), as the caller
    decided it from the `repository` option; None when there is none.
    """
    config = inputs.config
    platform = format_for(config).first_platform(config)
    check_base_image(config)
    ca_certificates(config)  # before the freeze, not minutes after it
    extra_entries(config, inputs.root)  # the same for the `extra-files` paths
    tags = render_tags(config.tags, inputs.version)
    skipped = release_only_templates(config.tags, inputs.version)
    if skipped:
        reporter.display_info(
            f"Not a release ({inputs.version}): skipping the tags {', '.join(skipped)}"
        )
    push = config.push if config.push is not None else template is not None
    if push and template is None:
        message = (
            "`push` is on but no repository is known: set `repository` in "
            "`[tool.hatch.build.targets.krust]` or the environment variable `KRUST_REPO`"
        )
        raise ConfigError(message)
    repository = _repository(template, inputs.dist_name) if push else None
    return ImagePlan(platform, tuple(tags), repository)


def check_base_image(config: KrustConfig) -> None:
    """A malformed `base-image` is named where it was set, before any work is done."""
    from hatch_krust.errors import InvalidReference
    from hatch_krust.registry.api import parse_location

    if config.base_image == "scratch":
        return
    try:
        parse_location(config.base_image)
    except InvalidReference as exc:
        message = (
            f"{config.origin('base-image')} is not a valid base image: {exc}. Use `scratch`, a "
            "registry reference (host/repo:tag), oci:DIR[:TAG] or oci-archive:FILE[:TAG]"
        )
        raise ConfigError(message) from None


def file_stem(inputs: BuildInputs) -> str:
    """`<name>-<version>`: the outputs are `<stem>.oci.tar`, `<stem>.build.json`, ..."""
    return f"{repository_name('{name}', inputs.dist_name)}-{inputs.version}"


def build_image(
    inputs: BuildInputs,
    facts: ProjectFacts,
    plan: ImagePlan,
    reporter: Reporter,
    work: Path,
) -> BuiltImage:
    """Pull the base, package (freeze, or lay out layers), assemble; all under `work`.

    Without hatch's `reproducible`, the image says when it was built (the executable's
    cache key keeps `inputs.epoch`, None, so it is still reused).
    """
    config = inputs.config
    epoch = inputs.epoch if inputs.epoch is not None else int(time.time())
    cache_root, insecure = inputs.cache_dir, tuple(config.insecure_registries)
    packager = format_for(config)
    spec, platform = config.base_image, plan.platform
    bases = BaseOpener(spec, cache_root, insecure, reporter, inputs.env)
    with contextlib.closing(bases), open_base(
        spec, platform, cache_root, insecure, reporter, inputs.env, bases
    ) as opened:
        base = (opened[0], public_location(opened[1], inputs.root), opened[2])  # no local path
        packaged, root = root_options(inputs, packager.package(inputs, reporter, work, bases))
        reporter.display_waiting(f"Assembling the image ({packaged.format})")
        git = git_state(inputs.root)  # one look at the checkout: annotations and provenance
        layout = Layout.create(work / "image")
        options = _options(inputs, facts, plan, packaged, git, epoch, base, root)
        index = packaged.assemble(base[0], options, layout)
        packaged = with_shipped(packaged, options.shipped)
    stem = file_stem(inputs)
    archive = _write_archive(inputs, plan, (layout, index), work / "out" / f"{stem}.oci.tar", epoch)
    subject = platforms_of(layout, index)[0][1]
    documented = (replace(inputs, epoch=epoch), facts, git, packaged)
    docs = _documents(documented, (layout, index, subject), plan, stem)
    record = build_record(
        inputs.dist_name,
        inputs.version,
        (packaged.installs, archive),
        (layout, index),
        plan.tags,
        (base[1], base[2]),
        plan.repository,
        docs,
        packaged.format,
    )
    return BuiltImage(
        layout=layout,
        index=index,
        subject=subject,
        platform=plan.platform,
        installs=packaged.installs,
        archive=archive,
        documents=tuple(docs),
        record=record,
        stem=stem,
        base_name=base[1],
        epoch=epoch,
        format=packaged.format,
    )


def _documents(
    documented: tuple[BuildInputs, ProjectFacts, GitState, Packaged],
    image: tuple[Layout, Descriptor, Descriptor],
    plan: ImagePlan,
    stem: str,
) -> list[Document]:
    """The SBOM and provenance of the index's first platform image (`subject`), then of
    every further platform a format made (`Packaged.platforms`)."""
    inputs, facts, git, packaged = documented
    layout, index, subject = image
    docs = attestation_documents(
        inputs, facts, git, packaged, (layout, subject, plan.platform), plan.repository, stem
    )
    if packaged.platforms:
        docs += platform_documents(documented, (layout, index), plan.repository, stem)
    return docs


def _write_archive(
    inputs: BuildInputs,
    plan: ImagePlan,
    image: tuple[Layout, Descriptor],
    archive: Path,
    epoch: int,
) -> Path:
    """`<stem>.oci.tar`: the layout with the index tagged by version and named for engines."""
    layout, index = image
    version_tag = tag_safe(inputs.version)
    name = image_name(plan.repository, repository_name("{name}", inputs.dist_name), version_tag)
    layout.add_manifest(index, version_tag, image_name=name)
    write_archive(layout, archive, epoch=epoch)
    return archive


def _options(
    inputs: BuildInputs,
    facts: ProjectFacts,
    plan: ImagePlan,
    packaged: Packaged,
    git: GitState,
    epoch: int,
    base: tuple[BaseImage | None, str, str],
    root: dict[str, Any],
) -> ImageOptions:
    """The image's options; `root` what it gets beyond the program (`root_options`)."""
    annotations = image_annotations(
        name=inputs.dist_name,
        version=inputs.version,
        description=facts.description,
        licenses=facts.licenses,
        urls=facts.urls,
        revision=git.revision,
        remote=git.remote,
        epoch=epoch,
    )
    options = image_options(
        inputs.config, packaged.script, plan.platform, epoch, annotations, base[1], base[2]
    )
    return replace(
        options, metadata_files=packaged.bundle.scanner_files(), **root
    )


def _repository(repository: str | None, dist_name: str) -> str:
    """The repository to push to, checked (the option or `KRUST_REPO` with the name)."""
    from hatch_krust.errors import InvalidReference
    from hatch_krust.oci.reference import parse_reference

    assert repository is not None
    name = repository_name(repository, dist_name)
    if name.split("/", 1)[0].lower() == "ko.local":
        message = (
            f"Invalid repository {name!r} (option `repository` / `KRUST_REPO`): `ko.local` "
            "is ko's name for the local engine; hatch-krust's is `krust.local`"
        )
        raise ConfigError(message)
    try:
        ref = parse_reference(name)
    except InvalidReference as exc:
        message = f"Invalid repository {name!r} (option `repository` / `KRUST_REPO`): {exc}"
        raise ConfigError(message) from None
    if ":" in name.rsplit("/", 1)[-1] or "@" in name:
        message = (
            f"Invalid repository {name!r} (option `repository` / `KRUST_REPO`): give the "
            "repository without a tag or digest; tags come from the `tags` option"
        )
        raise ConfigError(message)
    return ref.name
