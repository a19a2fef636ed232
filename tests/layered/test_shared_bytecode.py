"""Bytecode compiled once for the platforms of one image (issue 18's speed target).

The layers of two platforms hold the same pure-Python files: `shared_bytecode` compiles
such a file once, and the layers it gives must have the bytes that compiling each layer
on its own gives (two clean builds, with or without the sharing, are the same image).
"""

from __future__ import annotations

import sys
from pathlib import Path

from hatch_krust.layered import LayerPlan, build_layer
from hatch_krust.layered.bytecode import compile_entries, compile_shared
from hatch_krust.layered.layers import shared_bytecode
from hatch_krust.oci.layer import bytes_entry

PYTHON = Path(sys.executable)


def _plan(name: str, native: bytes) -> LayerPlan:
    """A packages layer: a shared pure-Python module and a per-platform one."""
    entries = (
        bytes_entry("/app/lib/pkg/__init__.py", b"from pkg.shared import X\n"),
        bytes_entry("/app/lib/pkg/shared.py", b"X = 'the same on every platform'\n"),
        bytes_entry("/app/lib/pkg/native.py", native),
        bytes_entry("/app/lib/pkg/data.txt", b"not python\n"),
    )
    return LayerPlan(name, entries, ("/app/lib",), PYTHON, "bytecode for test")


def test_a_file_the_platforms_share_is_compiled_once(tmp_path: Path) -> None:
    amd64, arm64 = _plan("packages", b"M = 'x86_64'\n"), _plan("packages", b"M = 'aarch64'\n")
    groups = [(p.entries, p.bytecode) for p in (amd64, arm64)]
    first, second = compile_shared(groups, PYTHON, tmp_path / "shared")
    paths = {e.path: e for e in second}
    assert sorted(paths) == sorted(e.path for e in first), "each group gets all its bytecode"
    assert len(paths) == 3
    stages = {
        e.path: e.source.relative_to(tmp_path / "shared").parts[0] for e in second if e.source
    }
    tag = f"cpython-{sys.version_info[0]}{sys.version_info[1]}"
    shared = f"/app/lib/pkg/__pycache__/shared.{tag}.pyc"
    native = f"/app/lib/pkg/__pycache__/native.{tag}.pyc"
    assert stages[shared] == "bytecode-0", "the second platform reuses the first's .pyc"
    assert stages[native] == "bytecode-1", "a file that differs is compiled for each"


def test_shared_bytecode_gives_the_bytes_of_a_layer_built_alone(tmp_path: Path) -> None:
    plans = [_plan("packages", b"M = 'x86_64'\n"), _plan("packages", b"M = 'aarch64'\n")]
    keys = [p.key(0) for p in plans]
    alone = [build_layer(p, tmp_path / "alone") for p in plans]
    compiled = shared_bytecode(
        plans, keys, tmp_path / "shared", tmp_path / "work", alone[0].layer.media_type
    )
    together = [
        build_layer(p, tmp_path / "shared", bytecode=b, key=k)
        for p, b, k in zip(plans, compiled, keys, strict=True)
    ]
    assert [b.layer.digest for b in together] == [b.layer.digest for b in alone]
    assert alone[0].layer.digest != alone[1].layer.digest
    media_type = alone[0].layer.media_type
    again = shared_bytecode(plans, keys, tmp_path / "shared", tmp_path / "work2", media_type)
    assert again == [None, None], "layers in the cache need no bytecode"


def test_the_same_bytecode_as_one_layer_compiled_alone(tmp_path: Path) -> None:
    plan = _plan("packages", b"M = 1\n")
    alone = compile_entries(plan.entries, plan.bytecode, PYTHON, tmp_path / "alone")
    (shared,) = compile_shared([(plan.entries, plan.bytecode)], PYTHON, tmp_path / "shared")
    assert [e.path for e in sorted(alone, key=lambda e: e.path)] == [
        e.path for e in sorted(shared, key=lambda e: e.path)
    ]
    for a, s in zip(
        sorted(alone, key=lambda e: e.path), sorted(shared, key=lambda e: e.path), strict=True
    ):
        assert a.source is not None and s.source is not None
        assert a.source.read_bytes() == s.source.read_bytes()
