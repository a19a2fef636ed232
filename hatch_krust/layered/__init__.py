"""The layered image format (groundwork): the program unpacked and ready, in ordered layers.

Call order for a build (see docs/layered.md):

    interpreter = host_interpreter(probe_interpreter(python, env))  # hatch_krust.python
    plan = plan_layers(interpreter, venv, project_name, work_dir)
    built = build_layers(plan, cache_dir, epoch=epoch, media_type=...)
    index = assemble_layered(base, built, options, layout, entrypoint=entrypoint(plan, script))
"""

from __future__ import annotations

from hatch_krust.layered.image import assemble_layered
from hatch_krust.layered.interpreter import (
    IMAGE_PREFIX,
    HostInterpreter,
    InterpreterInfo,
    InterpreterSource,
    host_interpreter,
)
from hatch_krust.layered.layers import BuiltLayer, LayerPlan, build_layer
from hatch_krust.layered.libraries import SystemLibrary
from hatch_krust.layered.packages import APP_ROOT, Distribution
from hatch_krust.layered.plan import (
    LAUNCHER_PATH,
    LayeredPlan,
    build_layers,
    entrypoint,
    plan_layers,
)

__all__ = [
    "APP_ROOT",
    "IMAGE_PREFIX",
    "LAUNCHER_PATH",
    "BuiltLayer",
    "Distribution",
    "HostInterpreter",
    "InterpreterInfo",
    "InterpreterSource",
    "LayerPlan",
    "LayeredPlan",
    "SystemLibrary",
    "assemble_layered",
    "build_layer",
    "build_layers",
    "entrypoint",
    "host_interpreter",
    "plan_layers",
]
