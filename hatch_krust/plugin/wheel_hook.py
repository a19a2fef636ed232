"""KrustBuildHook: `[tool.hatch.build.targets.wheel.hooks.krust]` makes the krust outputs
(executable, image archive, build record) from the wheel just built, and pushes only when
asked in so many words: `push = true` in the hook's own table or `KRUST_PUSH=1`. A
repository alone (in either table, or `KRUST_REPO`) does not push from a wheel build.

PEP 517 frontends build in temporary directories, so the outputs go to `dist/krust/`
under the project root (option `output-dir`), not beside the wheel. The options of
`[tool.hatch.build.targets.krust]` apply, with the hook's own table taking precedence.
Frontends such as pip hide a hook's output even with `-v`, so what the hook did is also
written to `<output-dir>/<name>-<version>.hook.log` and to the build record. Editable
builds are skipped: they hold no code to freeze.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatchling.builders.config import BuilderConfig
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

from hatch_krust.atomic import write_atomically
from hatch_krust.building.image import repository_name
from hatch_krust.building.outputs import write_record
from hatch_krust.config import load_config, unknown_variables
from hatch_krust.errors import KrustError, failure
from hatch_krust.flow import build_and_publish
from hatch_krust.formats.executable import is_inner_wheel_build
from hatch_krust.plugin.digests import built_line
from hatch_krust.plugin.project import build_inputs, project_facts

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hatch_krust.config import KrustConfig
    from hatch_krust.flow import ImageOutcome

__all__ = ["KrustBuildHook", "hook_config", "hook_push"]

HOOK_PREFIX = "tool.hatch.build.targets.wheel.hooks.krust"
DEFAULT_OUTPUT_DIR = "dist/krust"
# the only places a wheel build's push may be asked for
_PUSH_ORIGINS = (f"Field `{HOOK_PREFIX}.push`", "Environment variable `KRUST_PUSH`")


def hook_config(
    hook: Mapping[str, Any], target: Any, env: Mapping[str, str]
) -> KrustConfig:
    """The hook's table over the krust target's: the options documented for
    `[tool.hatch.build.targets.krust]` apply to the hook too, unless it sets its own.
    Each value is named by the table it came from in errors."""
    shared = target if isinstance(target, dict) and target else None
    return load_config(hook, prefix=HOOK_PREFIX, shared=shared, env=env)


def hook_push(config: KrustConfig) -> tuple[KrustConfig, str]:
    """The config the hook builds with (push off unless asked for explicitly) and one
    sentence saying whether it pushes and why."""
    if config.push is True and config.origin("push") in _PUSH_ORIGINS:
        return config, f"pushing: {config.origin('push')} asks for it"
    off = replace(config, push=False)
    if config.repository is None or config.push is False:
        return off, "not pushed: no push asked for"
    return off, (
        f"not pushed: a repository is known ({config.origin('repository')}), but the wheel "
        f"hook pushes only with `push = true` in `[{HOOK_PREFIX}]` or KRUST_PUSH=1"
    )


class KrustBuildHook(BuildHookInterface[BuilderConfig]):
    PLUGIN_NAME = "krust"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:  # noqa: ARG002 - the interface's signature
        env = os.environ  # the one read of the environment for this hook
        if self.target_name != "wheel" or version == "editable" or is_inner_wheel_build(env):
            return
        out_dir = Path(self.root) / DEFAULT_OUTPUT_DIR
        try:
            target = self.metadata.hatch.build_targets.get("krust") or {}
            config, push_note = hook_push(hook_config(self.config, target, env))
            out_dir = self._out_dir(config)
            for warning in unknown_variables(env):
                self.app.display_warning(f"krust: {warning}")
            if config.repository is not None and config.push is False:
                self.app.display_info(f"krust: {push_note}")
            inputs = build_inputs(
                self.root,
                self.metadata,
                config,
                reproducible=self.build_config.reproducible,
                out_dir=out_dir,
                wheel=Path(artifact_path),
            )
            result = build_and_publish(inputs, project_facts(self.metadata), self.app)
            self._record(result, push_note, out_dir)
        except (KrustError, OSError, KeyboardInterrupt) as exc:
            message, status = failure(exc) or (str(exc), 1)
            self._log(out_dir, [f"failed: {message}"])
            self.app.display_error(message)
            self.app.abort(code=status)
            sys.exit(status)  # abort() exits; this keeps type checkers and odd apps honest
        self._report(result, config, out_dir)

    def _out_dir(self, config: KrustConfig) -> Path:
        out_dir = Path(config.output_dir or DEFAULT_OUTPUT_DIR)
        return out_dir if out_dir.is_absolute() else Path(self.root) / out_dir

    def _record(self, result: ImageOutcome, push_note: str, out_dir: Path) -> None:
        """What the hook did, in the build record and in the log file the docs name."""
        lines = [f"built {result.index_digest} -> {result.archive}"]
        lines.append(f"pushed {result.reference}" if result.reference else push_note)
        log = self._log(out_dir, lines)
        hook = {"pushed": result.reference is not None, "push": push_note, "log": log.name}
        write_record({**result.record, "hook": hook}, result.record_path)

    def _log(self, out_dir: Path, lines: list[str]) -> Path:
        """`<stem>.hook.log`: a frontend such as pip shows none of the hook's output."""
        try:
            stem = f"{repository_name('{name}', self.metadata.name)}-{self.metadata.version}"
        except Exception:  # metadata that cannot be read: the error itself says why
            stem = "krust"
        text = "".join(f"krust wheel hook: {line}\n" for line in lines)
        return write_atomically(text.encode(), out_dir / f"{stem}.hook.log")

    def _report(self, result: ImageOutcome, config: KrustConfig, out_dir: Path) -> None:
        # the destination already said where the image went (pushed, or loaded locally)
        self.app.display_success(f"krust: {built_line(result)}")
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
