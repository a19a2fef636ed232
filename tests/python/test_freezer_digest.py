"""The executable cache key digests the toolkit's code with the freezer's: a change to how
the freeze environment is made (now in `hatch_krust.python`) must not reuse an old
executable."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import hatch_krust.python
from hatch_krust.formats.executable import freezer_code_digest


def test_a_change_to_the_toolkit_changes_the_freezer_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = freezer_code_digest()
    copy = tmp_path / "python"
    shutil.copytree(Path(str(hatch_krust.python.__file__)).parent, copy)
    monkeypatch.setattr(hatch_krust.python, "__file__", str(copy / "__init__.py"))
    assert freezer_code_digest() == original  # the same code, read from the copy
    environment = copy / "environment.py"
    environment.write_text(environment.read_text() + "\n# changed\n")
    assert freezer_code_digest() != original
