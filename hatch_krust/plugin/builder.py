"""KrustBuilder: the `krust` build target (`hatch build -t krust[:binary|image]`).

It only wires configuration into `hatch_krust.flow` and turns our errors into one
clear message and a non-zero exit.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatchling.builders.config import BuilderConfig
from hatchling.builders.plugin.interface import BuilderInterface
from hatchling.plugin.manager import PluginManager

from hatch_krust.config import KrustConfig, load_config, unknown_variables
from hatch_krust.errors import KrustError, failure
from hatch_krust.flow import ImageOutcome, build_and_publish, build_binary
from hatch_krust.plugin.digests import built_line
from hatch_krust.plugin.project import build_inputs, project_facts

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from hatch_krust.inputs import BuildInputs

__all__ = ["KrustBuilder", "KrustBuilderConfig"]

OUTPUT_SUBDIR = "krust"


class KrustBuilderConfig(BuilderConfig):
    @cached_property
    def krust(self) -> KrustConfig:
        return load_config(
            self.target_config,
            prefix=f"tool.hatch.build.targets.{self.plugin_name}",
            env=os.environ,  # the one read of the environment for this target
        )


class KrustBuilder(BuilderInterface[KrustBuilderConfig, PluginManager]):
    """Builds a static executable (`binary`) and an OCI image of it (`image`, the default).

    `outcomes` holds each image build's result as data, for a caller that runs the
    builder in-process (`hatch_krust.plugin.run`).
    """

    PLUGIN_NAME = "krust"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outcomes: list[ImageOutcome] = []

    @classmethod
    def get_config_class(cls) -> type[KrustBuilderConfig]:
        return KrustBuilderConfig

    def get_version_api(self) -> dict[str, Callable[..., str]]:
        return {"image": self.build_image, "binary": self.build_binary}

    def get_default_versions(self) -> list[str]:
        return ["image"]

    def clean(self, directory: str, versions: list[str]) -> None:  # noqa: ARG002
        shutil.rmtree(Path(directory) / OUTPUT_SUBDIR, ignore_errors=True)

    def build_binary(self, directory: str, **build_data: Any) -> str:  # noqa: ARG002
        with self._reporting_errors(self._out_dir(directory)):
            result = build_binary(self._build_inputs(directory), self.app)
            # built or reused was said as it happened: one line for the result
            self.app.display_success(f"Static executable: {result.path}")
            self.app.display(str(result.path))  # our one stdout line (docs/cli.md, "For scripts")
            return str(result.path)
        raise AssertionError("unreachable")  # pragma: no cover - abort() exits

    def build_image(self, directory: str, **build_data: Any) -> str:  # noqa: ARG002
        with self._reporting_errors(self._out_dir(directory)):
            outcome = build_and_publish(
                self._build_inputs(directory), project_facts(self.metadata), self.app
            )
            self.outcomes.append(outcome)
            self.app.display_success(built_line(outcome))
            # our one stdout line (docs/cli.md, "For scripts"): composes with $(...)
            self.app.display(outcome.reference or str(outcome.archive))
            return str(outcome.archive)
        raise AssertionError("unreachable")  # pragma: no cover

    def _build_inputs(self, directory: str) -> BuildInputs:
        for warning in unknown_variables(self.config.krust.environ):
            self.app.display_warning(f"Warning: {warning}")
        return build_inputs(
            self.root,
            self.metadata,
            self.config.krust,
            reproducible=self.config.reproducible,
            out_dir=self._out_dir(directory),
        )

    def _out_dir(self, directory: str) -> Path:
        """`output-dir` (KRUST_OUTPUT_DIR) when set, relative to the project root as for
        the wheel hook; else `krust/` in the directory Hatch builds into."""
        try:
            chosen = self.config.krust.output_dir
        except KrustError:  # said by the build itself, inside _reporting_errors
            chosen = None
        if chosen is None:
            return Path(directory) / OUTPUT_SUBDIR
        return Path(self.root) / chosen  # an absolute `chosen` stays itself

    @contextmanager
    def _reporting_errors(self, out_dir: Path) -> Iterator[None]:
        """One clear message and exit 1 for our errors; no traceback, no empty output dir."""
        existed = out_dir.exists()
        try:
            yield
        except (KrustError, OSError, KeyboardInterrupt) as exc:
            message, status = failure(exc) or (str(exc), 1)
            if not existed and out_dir.is_dir() and not any(out_dir.iterdir()):
                out_dir.rmdir()
            self.app.display_error(message)  # freeze errors carry the tool's last lines
            self.app.abort(code=status)
