"""The SBOM and provenance documents of a built image, from the facts of its build."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hatch_krust.building.public_paths import public_options

if TYPE_CHECKING:
    from hatch_krust.attest import Document
    from hatch_krust.building.git import GitState
    from hatch_krust.building.image import ProjectFacts
    from hatch_krust.formats import Packaged
    from hatch_krust.inputs import BuildInputs
    from hatch_krust.oci.descriptor import Descriptor, Platform
    from hatch_krust.oci.layout import Layout

__all__ = ["attestation_documents", "platform_documents"]


def attestation_documents(
    inputs: BuildInputs,
    facts: ProjectFacts,
    git: GitState,
    packaged: Packaged,
    image: tuple[Layout, Descriptor, Platform],
    repository: str | None,
    stem: str,
) -> list[Document]:
    """The SBOM (per the `sbom` option) and the provenance of the platform image.

    `image` is the layout, the platform manifest the documents are about (their subject)
    and its platform; `repository` names the image (else the project's name does).
    """
    from hatch_krust.__about__ import __version__
    from hatch_krust.attest import BuildFacts, documents
    from hatch_krust.oci.assemble import BASE_DIGEST, BASE_NAME

    layout, subject, platform = image
    config = inputs.config
    annotations = layout.read_json(subject.digest).get("annotations") or {}
    options = config.option_values()
    options["sbom"] = config.sbom or False  # as the user writes it: `sbom = false`
    build = BuildFacts(
        name=inputs.dist_name,
        version=inputs.version,
        script=packaged.script,
        executable_path=packaged.program.path,
        executable_sha256=packaged.program.sha256,
        executable_size=packaged.program.size,
        program_kind=packaged.program.kind,
        platform=str(platform),
        epoch=inputs.epoch,
        builder_version=__version__,
        licenses=facts.licenses,
        description=facts.description,
        bundle=packaged.bundle.facts(),
        scanner_files=packaged.bundle.scanner_files(),
        tools=packaged.tools,
        wheel_name=packaged.wheel_name,
        wheel_sha256=packaged.wheel_sha256,
        base_name=str(annotations.get(BASE_NAME, "")),
        base_digest=str(annotations.get(BASE_DIGEST, "")),
        git_revision=git.revision,
        git_dirty=git.dirty,
        git_remote=git.remote,
        options=public_options(options, inputs.root),
        image_name=repository or inputs.dist_name,
        manifest_digest=subject.digest,
        layers=packaged.layers,
    )
    return documents(build, config.sbom, stem)


def platform_documents(
    documented: tuple[BuildInputs, ProjectFacts, GitState, Packaged],
    image: tuple[Layout, Descriptor],
    repository: str | None,
    stem: str,
) -> list[Document]:
    """The SBOM and provenance of each platform after the index's first (a format that
    made several: `Packaged.platforms`), each about its own platform manifest, named
    `<stem>.<os>-<arch>.<suffix>`."""
    from dataclasses import replace

    from hatch_krust.oci.image import platforms_of

    inputs, facts, git, packaged = documented
    layout, index = image
    by_platform = dict(packaged.platforms)
    docs: list[Document] = []
    for platform, subject in platforms_of(layout, index)[1:]:
        own = by_platform[str(platform)]
        slug = str(platform).replace("/", "-")
        found = attestation_documents(
            inputs, facts, git, own, (layout, subject, platform), repository, f"{stem}.{slug}"
        )
        docs += [replace(doc, subject=subject) for doc in found]
    return docs
