"""What a build needs from hatchling's view of the project, made in one place for the
`krust` target and the wheel hook alike."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch_krust.building.image import ProjectFacts
from hatch_krust.inputs import BuildInputs, source_date_epoch

if TYPE_CHECKING:
    from hatch_krust.config import KrustConfig

__all__ = ["build_inputs", "project_facts"]


def build_inputs(
    root: str | Path,
    metadata: Any,
    config: KrustConfig,
    *,
    reproducible: bool,
    out_dir: Path,
    wheel: Path | None = None,
) -> BuildInputs:
    """The inputs of a build from hatchling's ProjectMetadata and the validated options.

    `reproducible` is hatch's option of that name (SOURCE_DATE_EPOCH is read from the
    configuration's environment); `wheel` is one already built (by the wheel hook).
    """
    return BuildInputs(
        root=Path(root),
        dist_name=metadata.core.raw_name,
        version=metadata.version,
        scripts=dict(metadata.core.scripts),
        config=config,
        epoch=source_date_epoch(reproducible, config.environ),
        out_dir=out_dir,
        wheel=wheel,
        process_env=os.environ,  # what an in-process wheel build sees (python.wheel_build)
    )


def project_facts(metadata: Any) -> ProjectFacts:
    """The annotation-worthy part of hatchling's ProjectMetadata."""
    core = metadata.core
    return ProjectFacts(
        description=core.description or "",
        licenses=core.license_expression or "",
        urls=dict(core.urls),
    )
