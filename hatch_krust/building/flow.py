"""The one entry every build goes through: the `krust` target, the wheel hook and (in a
child process per project) `hatch-krust resolve` call these, and none reads another's
output.

    plan = plan_image(inputs, reporter)          # checks; no work
    built = build_image(..., work)               # base pull, freeze, assemble: staged
    installed = install_outputs(built, out_dir)  # dist/krust/, each file whole
    published = destination.publish(built)       # a registry, or the local engine
    record, .ref                                 # rewritten / written after the push

Nothing is half-written by structure: the image is complete before anything is
installed, and a `.ref` exists only for a push (or a load) that finished.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_krust.building.executable import BinaryResult, build_executable
from hatch_krust.building.image import ImagePlan, build_image, plan_image
from hatch_krust.building.outputs import install_outputs, remove_stale_ref, write_record, write_ref
from hatch_krust.building.record import with_publication

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from hatch_krust.building.executable import ExecutableInputs, Reporter
    from hatch_krust.building.image import ProjectFacts
    from hatch_krust.config import KrustConfig
    from hatch_krust.publish import Destination

__all__ = ["ImageOutcome", "build_and_publish", "build_binary", "destination_for"]


@dataclass(frozen=True)
class ImageOutcome:
    """What an image build left: its files in the output directory, the index digest and
    platform, the reference it was pushed or loaded as (None when kept local) and the
    final build record."""

    executable: Path | None  # None for the layered format
    archive: Path
    record_path: Path
    index_digest: str
    reference: str | None
    record: Mapping[str, Any]
    platform: str = ""


def build_binary(inputs: ExecutableInputs, reporter: Reporter) -> BinaryResult:
    """The `binary` version: only the executable, into `inputs.out_dir`."""
    if inputs.config.format != "static":
        reporter.display_info(
            f"{inputs.config.origin('format')} asks for the {inputs.config.format} format: "
            "it applies to the image only; `krust:binary` makes the static executable"
        )
    return build_executable(inputs, reporter)


def destination_for(plan: ImagePlan, config: KrustConfig) -> Destination | None:
    """Where the configuration says the image goes: the local engine for `krust.local`,
    else its registry repository, or nowhere."""
    from hatch_krust.publish.engine import LocalEngineDestination, is_local
    from hatch_krust.publish.registry import RegistryDestination

    if plan.repository is None:
        return None
    if is_local(plan.repository):
        return LocalEngineDestination.from_environment(plan.tags, config.environ)
    return RegistryDestination(
        plan.repository, plan.tags, tuple(config.insecure_registries), config.environ or None
    )


def build_and_publish(
    inputs: ExecutableInputs,
    facts: ProjectFacts,
    reporter: Reporter,
    *,
    choose: Callable[[ImagePlan, KrustConfig], Destination | None] = destination_for,
) -> ImageOutcome:
    """Build the image, install its outputs, publish it where the configuration says.

    `choose` picks the destination from the plan (the default: `destination_for`).
    """
    plan = plan_image(inputs, reporter)
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
        executable=installed.executable,
        archive=installed.archive,
        record_path=installed.record,
        index_digest=built.index.digest,
        reference=reference,
        record=record,
        platform=str(built.platform),
    )
