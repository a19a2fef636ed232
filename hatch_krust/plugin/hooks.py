"""Registration only: hatchling imports this module for every build, so it stays light."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hatchling.plugin import hookimpl

if TYPE_CHECKING:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
    from hatchling.builders.plugin.interface import BuilderInterface


@hookimpl
def hatch_register_builder() -> type[BuilderInterface]:  # type: ignore[type-arg]
    from hatch_krust.plugin.builder import KrustBuilder

    return KrustBuilder


@hookimpl
def hatch_register_build_hook() -> type[BuildHookInterface]:  # type: ignore[type-arg]
    from hatch_krust.plugin.wheel_hook import KrustBuildHook

    return KrustBuildHook
