"""Projects the freeze got wrong at run time while the build itself succeeded.

- numpy: `--strip` ran binutils `strip` over `numpy.libs/libscipy_openblas*.so`, which
  auditwheel had rewritten with patchelf; the stripped copy has a PT_LOAD segment whose
  offset and address disagree modulo the page size, so `import numpy` died in the
  executable with "ELF load command address/offset not page-aligned".
- multiprocessing: the launcher never called `freeze_support()`, so a `spawn` child
  re-ran the project's entry point with `-B -s -c …` as its arguments (a fork bomb for
  an entry point that starts a pool) and a `forkserver` helper died looking for the
  parent's unpacked `base_library.zip`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hatch_krust.freeze.launcher import launcher_source
from tests.e2e.conftest import build_env, hatchling_build, only_file, write_project
from tests.infra.runtime import run_in_chroot

CLI = '''import multiprocessing
import sys


def square(x):
    return x * x


def main():
    if sys.argv[1:2] == ["numpy"]:
        import numpy as np

        rng = np.random.default_rng(0)
        a = rng.random((50, 50))
        print("numpy", np.__version__, bool(np.linalg.det(a @ a.T + np.eye(50)) > 0))
        return 0
    method = sys.argv[1]
    ctx = multiprocessing.get_context(method)
    with ctx.Pool(2) as pool:
        print(method, pool.map(square, range(5)))
    return 0
'''


@pytest.fixture(scope="module")
def exe(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Path:
    project = write_project(
        tmp_path_factory.mktemp("frozen-runtime"),
        name="crunch",
        dependencies=("numpy",),
        scripts={"crunch": "crunch.cli:main"},
        files={"crunch/cli.py": CLI},
        krust='format = "static"\nbase-image = "scratch"',
    )
    result = hatchling_build(project, "krust:binary", build_env(cache_dir))
    assert result.returncode == 0, result.stderr
    return only_file(project / "dist" / "krust")


@pytest.mark.slow
def test_numpy_imports_in_an_empty_root(exe: Path, tmp_path: Path) -> None:
    result = run_in_chroot(exe, ["numpy"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "not page-aligned" not in result.stderr
    assert result.stdout.startswith("numpy 2.") and result.stdout.strip().endswith("True")


@pytest.mark.slow
@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
def test_multiprocessing_start_methods_work(exe: Path, method: str) -> None:
    result = subprocess.run(
        [str(exe), method], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == [f"{method} [0, 1, 4, 9, 16]"]


def test_launcher_calls_freeze_support_before_the_entry_point() -> None:
    source = launcher_source("pkg.cli:main")
    support = source.index('sys.modules["multiprocessing"].freeze_support()')
    assert support < source.index("from pkg.cli import main as _krust_entry")
    compile(source, "krust_launcher.py", "exec")
