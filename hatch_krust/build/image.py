"""The image target: a project's static executable on a base, as an OCI image index.

Order matters for the "nothing half-written" promise: the base is resolved first (a
missing base or an unreachable registry fails before any work), the executable and the
image are built in a temporary directory, the local outputs are renamed into
`dist/krust/` together, and the push comes last, tagging only after every blob and
manifest is in.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_krust.attest.scanner_files import scanner_files
from hatch_krust.build.cache import default_cache_dir
from hatch_krust.build.public_paths import public_location, public_options
from hatch_krust.errors import ConfigError, ImageError
from hatch_krust.oci.archive_names import image_name
from hatch_krust.oci.assemble import BaseImage, ImageOptions, assemble
from hatch_krust.oci.descriptor import Descriptor, Platform
from hatch_krust.oci.digest import sha256_file
from hatch_krust.oci.image import platforms_of
from hatch_krust.oci.layout import Layout, open_archive, write_archive
from hatch_krust.build.executable import (
    ExecutableInputs,
    Reporter,
    build_executable,
    install_atomically,
)
from hatch_krust.build.git import GitState, git_state
from hatch_krust.oci.annotations import image_annotations
from hatch_krust.build.tags import release_only_templates, render_tags, tag_safe

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from hatch_krust.attest import Document
    from hatch_krust.build.executable import BinaryResult

__all__ = [
    "ImageResult",
    "ProjectFacts",
    "build_image",
    "facts_of",
]


@dataclass(frozen=True)
class ProjectFacts:
    """Project metadata that ends up in annotations; plain strings."""

    description: str = ""
    licenses: str = ""
    urls: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageResult:
    executable: Path
    archive: Path
    record: Path
    index_digest: str
    reference: str | None  # HOST/REPO@sha256:… when pushed
    record_data: dict[str, Any]


def facts_of(metadata: Any) -> ProjectFacts:
    """The annotation-worthy part of hatchling's ProjectMetadata."""
    core = metadata.core
    return ProjectFacts(
        description=core.description or "",
        licenses=core.license_expression or "",
        urls=dict(core.urls),
    )


def check_platforms(requested: tuple[str, ...]) -> Platform:
    """PyInstaller cannot cross-build: only the host's platform can be frozen here."""
    host = Platform.host()
    for text in requested:
        wanted = Platform.parse(text)
        if not host.satisfies(wanted):
            message = (
                f"This host can only build {host}, not {wanted}: PyInstaller does not "
                f"cross-build. Build on a {wanted} machine (for example a CI runner of that "
                "architecture) and join the per-platform images with "
                "`hatch-krust merge DST SRC...`."
            )
            raise ConfigError(message)
    return host


def repository_name(template: str, project_name: str) -> str:
    name = re.sub(r"[^a-z0-9._-]+", "-", project_name.lower()).strip("-._")
    return template.replace("{name}", name)


@contextlib.contextmanager
def open_base(
    spec: str, platform: Platform, cache_root: Path, insecure: tuple[str, ...], reporter: Reporter
) -> Iterator[tuple[BaseImage | None, str, str]]:
    """(base, name, digest) of `scratch`, `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`, a registry."""
    from hatch_krust.registry.locations import LayoutLocation, parse_location

    if spec == "scratch":
        yield None, "", ""
        return
    location = parse_location(spec)
    if isinstance(location, LayoutLocation):
        if not location.path.exists():
            kind = "file" if location.archive else "directory"
            message = f"The base image {spec!r} does not exist: no such {kind} {location.path}"
            raise ImageError(message)
        with contextlib.ExitStack() as stack:
            if location.archive:
                layout = stack.enter_context(open_archive(location.path))
            else:
                layout = Layout.open(location.path)
            descriptor = layout.resolve(location.tag)
            yield BaseImage(layout, descriptor), spec, descriptor.digest
        return
    from hatch_krust.build.bases import pull_base
    from hatch_krust.config import DEFAULT_BASE_IMAGE
    from hatch_krust.errors import RegistryError
    from hatch_krust.registry.client import TransportFailure

    reporter.display_waiting(f"Pulling base image {location} ({platform})")
    try:
        base = pull_base(location, platform, cache_root, insecure)
    except TransportFailure as exc:
        if spec != DEFAULT_BASE_IMAGE:
            raise
        message = (
            f"{exc}. {spec} is the default base image and needs internet access: set "
            '`base-image = "scratch"` (or KRUST_BASE_IMAGE=scratch), a local `oci:DIR` '
            "layout or a registry you can reach"
        )
        raise RegistryError(message) from None
    if base.from_cache:
        reporter.display_info(f"Base image {location} served from the cache (pinned by digest)")
    yield base.image, str(location), base.base_digest


def image_options(
    config: Any,
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
        annotations=annotations,
        ca_certificates=ca,
        base_name=base_name,
        base_digest=base_digest,
    )


def ca_certificates(config: Any) -> bool | Path:
    """The `ca-certificates` option, a named file checked to exist."""
    ca: bool | str = config.ca_certificates
    if not isinstance(ca, str):
        return ca
    if not Path(ca).is_file():
        from_env = os.environ.get("KRUST_CA_CERTIFICATES", "").strip() == ca
        where = (
            "Environment variable `KRUST_CA_CERTIFICATES`"
            if from_env
            else "Field `tool.hatch.build.targets.krust.ca-certificates`"
        )
        message = (
            f"{where} names {ca!r}, which is not a file; give the path of a PEM bundle, "
            "true or false"
        )
        raise ConfigError(message)
    return Path(ca)


def _plan(
    inputs: ExecutableInputs, reporter: Reporter
) -> tuple[Platform, list[str], str | None]:
    """Every check that needs no work done: (platform, tags, push destination or None)."""
    config = inputs.config
    platform = check_platforms(config.platforms)
    ca_certificates(config)  # before the freeze, not minutes after it
    tags = render_tags(config.tags, inputs.version)
    skipped = release_only_templates(config.tags, inputs.version)
    if skipped:
        reporter.display_info(
            f"Not a release ({inputs.version}): skipping the tags {', '.join(skipped)}"
        )
    push = config.push if config.push is not None else config.repository is not None
    if push and config.repository is None:
        message = (
            "`push` is on but no repository is known: set `repository` in "
            "`[tool.hatch.build.targets.krust]` or the environment variable `KRUST_REPO`"
        )
        raise ConfigError(message)
    destination = _destination(config.repository, inputs.dist_name) if push else None
    return platform, tags, destination


def build_image(inputs: ExecutableInputs, facts: ProjectFacts, reporter: Reporter) -> ImageResult:
    config = inputs.config
    platform, tags, destination = _plan(inputs, reporter)
    stem = f"{repository_name('{name}', inputs.dist_name)}-{inputs.version}"
    insecure = tuple(config.insecure_registries)
    # Without hatch's `reproducible`, the image says when it was built (the executable's
    # cache key keeps `inputs.epoch`, None, so it is still reused).
    image_epoch = inputs.epoch if inputs.epoch is not None else int(time.time())
    with tempfile.TemporaryDirectory(prefix="hatch-krust-image-") as tmp:
        work = Path(tmp)
        with open_base(
            config.base_image, platform, default_cache_dir(inputs.env), insecure, reporter
        ) as (
            base,
            given_base_name,
            base_digest,
        ):
            base_name = public_location(given_base_name, inputs.root)  # no path of this machine
            binary = build_executable(replace(inputs, out_dir=work / "out"), reporter)
            reporter.display_waiting("Assembling the image")
            git = git_state(inputs.root)  # one look at the checkout: annotations and provenance
            annotations = image_annotations(
                name=inputs.dist_name,
                version=inputs.version,
                description=facts.description,
                licenses=facts.licenses,
                urls=facts.urls,
                revision=git.revision,
                remote=git.remote,
                epoch=image_epoch,
            )
            layout = Layout.create(work / "image")
            options = image_options(
                config, binary.script, platform, image_epoch, annotations, base_name, base_digest
            )
            options = replace(options, metadata_files=tuple(scanner_files(binary.bundle)))
            index = assemble(base, binary.path, options, layout)
        version_tag = tag_safe(inputs.version)
        name = image_name(destination, repository_name("{name}", inputs.dist_name), version_tag)
        layout.add_manifest(index, version_tag, image_name=name)
        archive_tmp = work / "out" / f"{stem}.oci.tar"
        write_archive(layout, archive_tmp, epoch=image_epoch)
        record = _record(
            inputs,
            binary.path,
            archive_tmp,
            layout,
            index,
            tags,
            base_name,
            base_digest,
            destination,
        )
        subject = platforms_of(layout, index)[0][1]
        docs = _attestations(
            replace(inputs, epoch=image_epoch),
            facts,
            git,
            binary,
            layout,
            subject,
            platform,
            destination,
        )
        record["attestations"] = [
            {
                "kind": d.kind,
                "artifactType": d.artifact_type,
                "file": d.filename,
                "sha256": hashlib.sha256(d.data).hexdigest(),
            }
            for d in docs
        ]
        record_tmp = work / "out" / f"{stem}.build.json"
        record_tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        doc_paths = []
        for doc in docs:
            doc_paths.append(work / "out" / doc.filename)
            doc_paths[-1].write_bytes(doc.data)
        produced = (binary.path, archive_tmp, record_tmp, *doc_paths)
        outputs = {p: inputs.out_dir / p.name for p in produced}
        for source, target in outputs.items():
            install_atomically(source, target, 0o755 if source == binary.path else 0o644)
        reporter.display_info(
            f"Image {index.digest} ({platform}) written to {outputs[archive_tmp]}"
        )
        reference = None
        # A `.ref` names the push of the build beside it: one from an earlier build (pushed
        # before, local now, or a push that fails below) must not outlive that build.
        (inputs.out_dir / f"{stem}.ref").unlink(missing_ok=True)
        if destination is not None:
            reference = _push(layout, index, destination, tags, insecure, base_name, reporter)
            attached = _attach(reference, subject, docs, image_epoch, insecure, reporter)
            for entry, where in zip(record["attestations"], attached, strict=True):
                entry.update(where)
            record["reference"] = reference
            record_path = outputs[record_tmp]
            (work / "record").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
            install_atomically(work / "record", record_path, 0o644)
            (work / "ref").write_text(reference + "\n")
            install_atomically(work / "ref", inputs.out_dir / f"{stem}.ref", 0o644)
    return ImageResult(
        executable=outputs[binary.path],
        archive=outputs[archive_tmp],
        record=outputs[record_tmp],
        index_digest=index.digest,
        reference=reference,
        record_data=record,
    )


def _destination(repository: str | None, dist_name: str) -> str:
    from hatch_krust.errors import ReferenceError_
    from hatch_krust.oci.reference import parse_reference

    assert repository is not None
    name = repository_name(repository, dist_name)
    try:
        ref = parse_reference(name)
    except ReferenceError_ as exc:
        message = f"Invalid repository {name!r} (option `repository` / `KRUST_REPO`): {exc}"
        raise ConfigError(message) from None
    if ":" in name.rsplit("/", 1)[-1] or "@" in name:
        message = (
            f"Invalid repository {name!r} (option `repository` / `KRUST_REPO`): give the "
            "repository without a tag or digest; tags come from the `tags` option"
        )
        raise ConfigError(message)
    return ref.name


def _push(
    layout: Layout,
    index: Descriptor,
    destination: str,
    tags: list[str],
    insecure: tuple[str, ...],
    base_name: str,
    reporter: Reporter,
) -> str:
    from hatch_krust.oci.reference import parse_reference
    from hatch_krust.registry.api import push_layout

    dest = replace(parse_reference(destination), tag=None)  # tags come only from `tags`
    mount_from = None
    if base_name and not base_name.startswith(("oci:", "oci-archive:")):
        base = parse_reference(base_name)
        if base.registry == dest.registry and base.repository != dest.repository:
            mount_from = base.repository
    reporter.display_waiting(f"Pushing to {destination} (tags: {', '.join(tags)})")
    digest = push_layout(layout, index, dest, tags, insecure=insecure, mount_from=mount_from)
    reference = f"{dest.name}@{digest}"
    reporter.display_success(f"Pushed {reference}")
    return reference


def _record(
    inputs: ExecutableInputs,
    executable: Path,
    archive: Path,
    layout: Layout,
    index: Descriptor,
    tags: list[str],
    base_name: str,
    base_digest: str,
    destination: str | None,
) -> dict[str, Any]:
    """The build record: what a pipeline needs to sign, deploy or audit this build."""
    platforms = [
        {"platform": str(p), "digest": d.digest, "size": d.size}
        for p, d in platforms_of(layout, index)
    ]
    return {
        "name": inputs.dist_name,
        "version": inputs.version,
        "index": {"digest": index.digest, "size": index.size, "mediaType": index.media_type},
        "platforms": platforms,
        "tags": tags,
        "base": {"name": base_name or "scratch", "digest": base_digest or None},
        "executable": {
            "name": executable.name,
            "sha256": sha256_file(executable),
            "size": executable.stat().st_size,
        },
        "archive": {
            "name": archive.name,
            "sha256": sha256_file(archive),
            "size": archive.stat().st_size,
        },
        "repository": destination,
        "reference": None,
    }


def _attestations(
    inputs: ExecutableInputs,
    facts: ProjectFacts,
    git: GitState,
    binary: BinaryResult,
    layout: Layout,
    subject: Descriptor,
    platform: Platform,
    destination: str | None,
) -> list[Document]:
    """The SBOM (per the `sbom` option) and the provenance of the platform image `subject`."""
    import dataclasses

    from hatch_krust.__about__ import __version__
    from hatch_krust.attest import BuildFacts, documents
    from hatch_krust.oci.assemble import APP_DIR, BASE_DIGEST, BASE_NAME

    config = inputs.config
    manifest = layout.read_json(subject.digest)
    annotations = manifest.get("annotations") or {}
    options = {
        k.replace("_", "-"): list(v) if isinstance(v, tuple) else v
        for k, v in dataclasses.asdict(config).items()
    }
    options["sbom"] = config.sbom or False  # as the user writes it: `sbom = false`
    build = BuildFacts(
        name=inputs.dist_name,
        version=inputs.version,
        script=binary.script,
        executable_path=f"{APP_DIR}/{binary.script}",
        executable_sha256=sha256_file(binary.path).removeprefix("sha256:"),
        executable_size=binary.path.stat().st_size,
        platform=str(platform),
        epoch=inputs.epoch,
        builder_version=__version__,
        licenses=facts.licenses,
        description=facts.description,
        bundle=binary.bundle,
        tools=binary.tools,
        wheel_name=binary.wheel_name,
        wheel_sha256=binary.wheel_file_sha256,
        base_name=str(annotations.get(BASE_NAME, "")),
        base_digest=str(annotations.get(BASE_DIGEST, "")),
        git_revision=git.revision,
        git_dirty=git.dirty,
        git_remote=git.remote,
        options=public_options(options, inputs.root),
        image_name=destination or inputs.dist_name,
        manifest_digest=subject.digest,
    )
    stem = f"{repository_name('{name}', inputs.dist_name)}-{inputs.version}"
    return documents(build, config.sbom, stem)


def _attach(
    reference: str,
    subject: Descriptor,
    docs: list[Document],
    epoch: int | None,
    insecure: tuple[str, ...],
    reporter: Reporter,
) -> list[dict[str, str]]:
    """Push the SBOM and provenance as referrers of the platform image (after the image).

    Returns, per document, the artifact's digest and where it is listed (for the record).
    """
    from hatch_krust.attest import attach
    from hatch_krust.errors import RegistryError
    from hatch_krust.oci.reference import parse_reference
    from hatch_krust.oci.annotations import rfc3339
    from hatch_krust.registry.options import Options

    if not docs:
        return []
    dest = parse_reference(reference)
    options = Options(insecure=frozenset(insecure))
    try:
        results = attach(dest, subject, docs, created=rfc3339(epoch), options=options)
    except RegistryError as exc:
        message = (
            f"The image was pushed as {reference}, but attaching its SBOM and provenance to "
            f"{subject.digest} failed: {exc}"
        )
        raise RegistryError(message, exc.status) from exc
    how = "referrers API" if all(r.api for r in results) else f"tag {results[0].fallback_tag}"
    kinds = " and ".join(d.kind for d in docs)
    reporter.display_info(f"Attached the {kinds} to {subject.digest} ({how})")
    return [
        {"digest": r.digest, "listedBy": "referrers-api" if r.api else f"tag:{r.fallback_tag}"}
        for r in results
    ]
