"""`python -m hatch_krust.plugin.run --result FILE`: build the project in the current
directory as `hatchling build -t krust` does (its build hooks included), in this process,
and write the result to FILE as JSON.

`hatch-krust resolve` runs this in a child process per project, so each build keeps its
own environment changes and hooks, and reads the result as data instead of scraping the
child's output. FILE holds `{"reference": "HOST/REPO@sha256:…" (pushed),
"krust.local/NAME:TAG" (loaded) or null, "archive": PATH, "record": {the build record}}`;
progress and errors go to stderr as in a hatchling build (the one stdout line to stdout,
which resolve discards),
and a failed build exits non-zero without writing FILE.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hatch_krust.flow import ImageOutcome

__all__ = ["build_target", "main", "outcome_data"]


def build_target(root: Path) -> ImageOutcome | None:
    """Build the `krust` target of the project at `root`; its image outcome, if any."""
    from hatchling.bridge.app import Application
    from hatchling.metadata.core import ProjectMetadata
    from hatchling.plugin.manager import PluginManager

    from hatch_krust.plugin.builder import KrustBuilder

    app = Application()
    plugin_manager = PluginManager()
    metadata = ProjectMetadata(str(root), plugin_manager)
    builder = KrustBuilder(
        str(root), plugin_manager=plugin_manager, metadata=metadata, app=app.get_safe_application()
    )
    for artifact in builder.build():  # the versions `hatchling build -t krust` builds
        shown = os.path.relpath(artifact, root) if artifact.startswith(str(root)) else artifact
        app.display_info(shown)
    return builder.outcomes[-1] if builder.outcomes else None


def outcome_data(outcome: ImageOutcome) -> dict[str, Any]:
    return {
        "reference": outcome.reference,
        "archive": str(outcome.archive),
        "record": dict(outcome.record),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hatch_krust.plugin.run")
    parser.add_argument("--result", required=True, type=Path, metavar="FILE")
    args = parser.parse_args(argv)
    outcome = build_target(Path.cwd())
    if outcome is not None:
        args.result.write_text(json.dumps(outcome_data(outcome)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
