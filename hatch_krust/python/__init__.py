"""The Python toolkit: what both formats need of Python, and nothing of images.

    interpreter = probe_interpreter("python3.11", env)       # THE one probe
    venv = create_environment(interpreter, root, [wheel], env=env)

- `interpreter`: the one probe of the build's Python (identity for the cache key, layout
  for copying it into an image);
- `environment`, `backends`: a venv filled by uv or pip behind one protocol;
- `wheel_build`: the project's wheel, built as the project builds it;
- `extras`, `dependencies`, `metadata`, `wheelfile`: what a wheel asks for and holds;
- `process`: running a tool, keeping its output for the error message.

Used by the freezer (`hatch_krust.freeze`) and the layered format (`hatch_krust.layered`)
through these public names. It takes plain values (paths, strings, mappings) and returns
plain typed values; it imports nothing of OCI, registries, formats, the build, the
configuration or either format (checked by tests/meta/test_import_rules.py). Every function
that runs a tool takes the environment to run it with (`env`): nothing here reads or
writes `os.environ`.
"""

from __future__ import annotations

from hatch_krust.python.backends import (
    EnvironmentBackend,
    PipBackend,
    UvBackend,
    choose_backend,
    find_uv,
)
from hatch_krust.python.environment import FreezeEnvironment, create_environment
from hatch_krust.python.interpreter import (
    MIN_PYTHON,
    Interpreter,
    InterpreterLayout,
    probe_interpreter,
)
from hatch_krust.python.process import ToolFailed, installer_env, run_tool, stage_failed, tail

__all__ = [
    "MIN_PYTHON",
    "EnvironmentBackend",
    "FreezeEnvironment",
    "Interpreter",
    "InterpreterLayout",
    "PipBackend",
    "ToolFailed",
    "UvBackend",
    "choose_backend",
    "create_environment",
    "find_uv",
    "installer_env",
    "probe_interpreter",
    "run_tool",
    "stage_failed",
    "tail",
]
