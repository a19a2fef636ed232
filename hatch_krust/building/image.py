"""Assembling the image target: a project's program (in the `format` chosen) on a base,
as an OCI image index in a staged layout, with its archive, attestation documents and
build record.

`plan_image` makes every check that needs no work (platforms, tags, the repository, the
CA file); `build_image` then opens the base (`building.bases.BaseOpener`, which the
format is given too, so each platform's base is opened once), lets the format make the
program (which also uses the network: `uv pip compile` for the cache key, the wheel
build's and the installs' package index), assembles and writes everything into a work
directory the caller owns, and returns a `BuiltImage`. Installing it into `dist/krust/`
and publishing it are later steps (`hatch_krust.building.outputs`,
`hatch_krust.publish`), joined by the composition root `hatch_krust.flow`.
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
from hatch_krust.errors import ConfigError
from hatch_krust.formats import format_for
from hatch_krust.oci.annotations import image_annotations
from hatch_krust.oci.archive_names import image_name
from hatch_krust.oci.assemble import BaseImage, ImageOptions
from hatch_krust.oci.image import platforms_of
from hatch_krust.oci.layout import Layout, write_archive

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hatch_krust.attest import Document
    from hatch_krust.config import KrustConfig
    from hatch_krust.formats import Packaged
    from hatch_krust.inputs import BuildInputs
    from hatch_krust.oci.descriptor import Descriptor, Platform
    from hatch_krust.progress import Reporter

__all__ = [
    "BuiltImage",
    "ImagePlan",
    "ProjectFacts",
    "build_image",
    "file_stem",
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
    _check_scratch_typo(config)
    try:
        parse_location(config.base_image)
    except InvalidReference as exc:
        message = (
            f"{config.origin('base-image')} is not a valid base image: {exc}. Use `scratch`, a "
            "registry reference (host/repo:tag), oci:DIR[:TAG] or oci-archive:FILE[:TAG]"
        )
        raise ConfigError(message) from None


def _check_scratch_typo(config: KrustConfig) -> None:
    """`scrach`, `Scratch`: a one-word name is Docker Hub's `library/NAME`, and no official
    image is named within a letter of `scratch` (which Docker Hub reserves)."""
    import difflib

    name = config.base_image
    if any(c in name for c in "/:@") or not difflib.get_close_matches(
        name.lower(), ["scratch"], n=1, cutoff=0.8
    ):
        return
    message = (
        f"{config.origin('base-image')} is {name!r}, which would be pulled as "
        f"docker.io/library/{name.lower()}; did you mean `scratch`?"
    )
    raise ConfigError(message)


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
    with contextlib.closing(bases):
        # the first platform's base, before any work (a bad base costs no freeze); the
        # format asking for it again (`bases.open`) gets this one, not a second pull
        opened = bases.opened(platform)
        base = (opened.image, public_location(opened.name, inputs.root), opened.digest)
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
