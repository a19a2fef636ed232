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
from typing import TYPE_CHECKING, Any

from hatchling.builders.config import BuilderConfig
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

from hatch_krust.build.executable import is_inner_wheel_build
from hatch_krust.build.flow import build_and_publish
from hatch_krust.config import load_config
from hatch_krust.errors import KrustError, failure
from hatch_krust.plugin.project import executable_inputs, project_facts

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hatch_krust.config import KrustConfig

__all__ = ["KrustBuildHook", "hook_config"]

HOOK_PREFIX = "tool.hatch.build.targets.wheel.hooks.krust"
DEFAULT_OUTPUT_DIR = "dist/krust"


def hook_config(
    hook: Mapping[str, Any], target: Any, env: Mapping[str, str]
) -> KrustConfig:
    """The hook's table over the krust target's: the options documented for
    `[tool.hatch.build.targets.krust]` apply to the hook too, unless it sets its own.
    Each value is named by the table it came from in errors."""
    shared = target if isinstance(target, dict) and target else None
    return load_config(hook, prefix=HOOK_PREFIX, shared=shared, env=env)


class KrustBuildHook(BuildHookInterface[BuilderConfig]):
    PLUGIN_NAME = "krust"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:  # noqa: ARG002 - the interface's signature
        env = os.environ  # the one read of the environment for this hook
        if self.target_name != "wheel" or version == "editable" or is_inner_wheel_build(env):
            return
        try:
            target = self.metadata.hatch.build_targets.get("krust") or {}
            config = hook_config(self.config, target, env)
            out_dir = Path(config.output_dir or DEFAULT_OUTPUT_DIR)
            if not out_dir.is_absolute():
                out_dir = Path(self.root) / out_dir
            inputs = executable_inputs(
                self.root,
                self.metadata,
                config,
                reproducible=self.build_config.reproducible,
                out_dir=out_dir,
                wheel=Path(artifact_path),
            )
            result = build_and_publish(inputs, project_facts(self.metadata), self.app)
        except (KrustError, OSError, KeyboardInterrupt) as exc:
            message, status = failure(exc) or (str(exc), 1)
            self.app.display_error(message)
            self.app.abort(code=status)
            sys.exit(status)  # abort() exits; this keeps type checkers and odd apps honest
        self.app.display_success(f"krust: image {result.index_digest} -> {result.archive}")
        if result.reference:
            self.app.display_success(f"krust: pushed {result.reference}")
        if not Path(config.output_dir or DEFAULT_OUTPUT_DIR).is_absolute() and _from_sdist(
            self.root
        ):
            self.app.display_warning(
                f"krust: this wheel is built from an unpacked sdist, so the outputs are in "
                f"{out_dir}, which a frontend (`python -m build` without --wheel, pip) deletes "
                "when it is done. Build the wheel from the project directory "
                "(`python -m build --wheel`) or set an absolute `output-dir` "
                "(KRUST_OUTPUT_DIR) to keep them."
            )


def _from_sdist(root: str) -> bool:
    """An unpacked sdist has PKG-INFO at its root; a project checkout does not."""
    return (Path(root) / "PKG-INFO").is_file()
