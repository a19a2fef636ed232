"""KrustBuildHook: `[tool.hatch.build.targets.wheel.hooks.krust]` makes the krust outputs
(executable, image archive, build record, and the push when a repository is known) from
the wheel just built.

PEP 517 frontends build in temporary directories, so the outputs go to `dist/krust/`
under the project root (option `output-dir`), not beside the wheel. The options of
`[tool.hatch.build.targets.krust]` apply, with the hook's own table taking precedence.
Editable builds are skipped: they hold no code to freeze.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from hatchling.builders.config import BuilderConfig
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

from hatch_krust.build.executable import ExecutableInputs, is_inner_wheel_build, source_date_epoch
from hatch_krust.build.image import build_image, facts_of
from hatch_krust.config import OPTIONS, load_config
from hatch_krust.errors import KrustError

__all__ = ["KrustBuildHook"]


class KrustBuildHook(BuildHookInterface[BuilderConfig]):
    PLUGIN_NAME = "krust"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:  # noqa: ARG002 - the interface's signature
        if self.target_name != "wheel" or version == "editable" or is_inner_wheel_build(os.environ):
            return
        prefix = "tool.hatch.build.targets.wheel.hooks.krust"
        try:
            config = load_config(self._table(), prefix=prefix)
            out_dir = Path(config.output_dir or "dist/krust")
            if not out_dir.is_absolute():
                out_dir = Path(self.root) / out_dir
            inputs = ExecutableInputs(
                root=Path(self.root),
                dist_name=self.metadata.core.raw_name,
                version=self.metadata.version,
                scripts=dict(self.metadata.core.scripts),
                config=config,
                epoch=source_date_epoch(self.build_config.reproducible, os.environ),
                out_dir=out_dir,
                wheel=Path(artifact_path),
            )
            result = build_image(inputs, facts_of(self.metadata), self.app)
        except KrustError as exc:
            self.app.display_error(str(exc))
            self.app.abort(code=1)
            sys.exit(1)  # abort() exits; this keeps type checkers and odd apps honest
        self.app.display_success(f"krust: image {result.index_digest} -> {result.archive}")
        if result.reference:
            self.app.display_success(f"krust: pushed {result.reference}")
        if not Path(config.output_dir or "dist/krust").is_absolute() and _from_sdist(self.root):
            self.app.display_warning(
                f"krust: this wheel is built from an unpacked sdist, so the outputs are in "
                f"{out_dir}, which a frontend (`python -m build` without --wheel, pip) deletes "
                "when it is done. Build the wheel from the project directory "
                "(`python -m build --wheel`) or set an absolute `output-dir` "
                "(KRUST_OUTPUT_DIR) to keep them."
            )

    def _table(self) -> dict[str, Any]:
        """The hook's table over the krust target's: the options documented for
        `[tool.hatch.build.targets.krust]` apply to the hook too, unless it sets its own."""
        target = self.metadata.hatch.build_targets.get("krust") or {}
        shared: dict[str, Any] = {}
        if isinstance(target, dict) and target:
            load_config(target, prefix="tool.hatch.build.targets.krust")  # its own names in errors
            keys = {option.key for option in OPTIONS}
            shared = {k: v for k, v in target.items() if k in keys}
        hook = {k: v for k, v in self.config.items() if k not in _HOOK_KEYS}
        return {**shared, **hook}


def _from_sdist(root: str) -> bool:
    """An unpacked sdist has PKG-INFO at its root; a project checkout does not."""
    return (Path(root) / "PKG-INFO").is_file()


_HOOK_KEYS = frozenset(
    {
        "dependencies",
        "require-runtime-dependencies",
        "require-runtime-features",
        "enable-by-default",
    }
)
