"""The composition root (ko's `commands/resolver.go`): the one place that joins building
and publishing. The `krust` target, the wheel hook and (in a child process per project)
`hatch-krust resolve` call these, and none reads another's output.

    template = repository_template(config)       # `krust.local` -> `krust.local/{name}`
    plan = plan_image(inputs, reporter, template) # checks; no work
    destination = destination_for(plan, config)   # a registry, the local engine, nowhere
    built = build_image(..., work)                # base pull, format, assemble: staged
    installed = install_outputs(built, out_dir)   # dist/krust/, each file whole
    published = destination.publish(built)        # the push, or the load
    record, .ref                                  # rewritten / written after it

The building package never imports publishing or this module; a destination learns only
the `BuiltImage`. Nothing is half-written by structure: the image is complete before
anything is installed, and a `.ref` exists only for a push (or a load) that finished.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_krust.building.image import ImagePlan, build_image, plan_image
from hatch_krust.building.outputs import install_outputs, remove_stale_ref, write_record, write_ref
from hatch_krust.formats.static import build_binary
from hatch_krust.inputs import blob_record_file, default_cache_dir
from hatch_krust.publish.engine import LOCAL_REGISTRY, LocalEngineDestination, is_local

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from hatch_krust.building.image import ProjectFacts
    from hatch_krust.config import KrustConfig
    from hatch_krust.inputs import BuildInputs
    from hatch_krust.progress import Reporter
    from hatch_krust.publish import Destination, Published

__all__ = [
    "ImageOutcome",
    "build_and_publish",
    "build_binary",
    "destination_for",
    "repository_template",
    "with_publication",
]


@dataclass(frozen=True)
class ImageOutcome:
    """What an image build left: its files in the output directory (`files`: what the
    format installs, the executable or none), the index digest and platform, the
    reference it was pushed or loaded as (None when kept local) and the final record."""

    files: tuple[Path, ...]
    archive: Path
    record_path: Path
    index_digest: str
    reference: str | None
    record: Mapping[str, Any]
    platform: str = ""


def repository_template(config: KrustConfig) -> str | None:
    """The repository the image is for, as a template: the option's, where a bare
    `krust.local` (the local engine) becomes `krust.local/{name}`, a whole name."""
    repository = config.repository
    if repository == LOCAL_REGISTRY:
        return f"{LOCAL_REGISTRY}/{{name}}"
    return repository


def destination_for(plan: ImagePlan, config: KrustConfig) -> Destination | None:
    """Where the configuration says the image goes: the local engine for `krust.local`,
    else its registry repository, or nowhere."""
    from hatch_krust.publish.registry import RegistryDestination  # httpx: only for a push

    if plan.repository is None:
        return None
    if is_local(plan.repository):
        return LocalEngineDestination.from_environment(plan.tags, config.environ)
    return RegistryDestination(
        plan.repository, plan.tags, tuple(config.insecure_registries), config.environ or None,
        blob_record=blob_record_file(default_cache_dir(config.environ)),
    )


def with_publication(record: Mapping[str, Any], published: Published) -> dict[str, Any]:
    """The record completed with where the image went and where its attachments are."""
    out = copy.deepcopy(dict(record))
    for entry, where in zip(out["attestations"], published.attachments, strict=True):
        entry.update(where)
    out["reference"] = published.reference
    return out


def build_and_publish(
    inputs: BuildInputs,
    facts: ProjectFacts,
    reporter: Reporter,
    *,
    choose: Callable[[ImagePlan, KrustConfig], Destination | None] = destination_for,
) -> ImageOutcome:
    """Build the image, install its outputs, publish it where the configuration says.

    `choose` picks the destination from the plan (the default: `destination_for`).
    """
    plan = plan_image(inputs, reporter, repository_template(inputs.config))
    destination = choose(plan, inputs.config)
    out_dir = inputs.out_dir
    with tempfile.TemporaryDirectory(prefix="hatch-krust-image-") as tmp:
        built = build_image(inputs, facts, plan, reporter, Path(tmp))
        installed = install_outputs(built, out_dir)
        remove_stale_ref(out_dir, built.stem)
        record, reference = built.record, None
        if destination is not None:
            published = destination.publish(built, reporter)
            record, reference = with_publication(built.record, published), published.reference
            write_record(record, installed.record)
            write_ref(out_dir, built.stem, published.reference)
    return ImageOutcome(
        files=installed.files,
        archive=installed.archive,
        record_path=installed.record,
        index_digest=built.index.digest,
        reference=reference,
        record=record,
        platform=str(built.platform),
    )
