"""KrustBuilder: the `krust` build target (`hatch build -t krust[:binary|image]`).

It only wires configuration into the pipeline and turns our errors into one clear
message and a non-zero exit; the work lives in `hatch_krust.build.executable`.
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

from hatch_krust.build.executable import ExecutableInputs, build_executable, source_date_epoch
from hatch_krust.build.image import build_image, facts_of
from hatch_krust.config import KrustConfig, load_config
from hatch_krust.errors import KrustError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["KrustBuilder", "KrustBuilderConfig"]

OUTPUT_SUBDIR = "krust"


class KrustBuilderConfig(BuilderConfig):
    @cached_property
    def krust(self) -> KrustConfig:
        return load_config(
            self.target_config, prefix=f"tool.hatch.build.targets.{self.plugin_name}"
        )


class KrustBuilder(BuilderInterface[KrustBuilderConfig, PluginManager]):
    """Builds a static executable (`binary`) and an OCI image of it (`image`, the default)."""

    PLUGIN_NAME = "krust"

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
        with self._reporting_errors(Path(directory) / OUTPUT_SUBDIR):
            result = build_executable(self._executable_inputs(directory), self.app)
            verb = "Reused" if result.cached else "Built"
            self.app.display_success(f"{verb} static executable {result.path}")
            return str(result.path)
        raise AssertionError("unreachable")  # pragma: no cover - abort() exits

    def build_image(self, directory: str, **build_data: Any) -> str:  # noqa: ARG002
        with self._reporting_errors(Path(directory) / OUTPUT_SUBDIR):
            result = build_image(
                self._executable_inputs(directory), facts_of(self.metadata), self.app
            )
            self.app.display_success(f"Built image {result.index_digest} -> {result.archive}")
            if result.reference:
                self.app.display(result.reference)  # the only stdout line: composes with $(...)
            return str(result.archive)
        raise AssertionError("unreachable")  # pragma: no cover

    def _executable_inputs(self, directory: str) -> ExecutableInputs:
        config = self.config.krust
        return ExecutableInputs(
            root=Path(self.root),
            dist_name=self.metadata.core.raw_name,
            version=self.metadata.version,
            scripts=dict(self.metadata.core.scripts),
            config=config,
            epoch=source_date_epoch(self.config.reproducible, os.environ),
            out_dir=Path(directory) / OUTPUT_SUBDIR,
        )

    @contextmanager
    def _reporting_errors(self, out_dir: Path) -> Iterator[None]:
        """One clear message and exit 1 for our errors; no traceback, no empty output dir."""
        existed = out_dir.exists()
        try:
            yield
        except KrustError as exc:
            if not existed and out_dir.is_dir() and not any(out_dir.iterdir()):
                out_dir.rmdir()
            self.app.display_error(str(exc))  # freeze errors carry the tool's last lines
            self.app.abort(code=1)
