"""The GitHub workflows pass zizmor's audit (offline: no GitHub API, no network) with
nothing at medium severity or above, every action is pinned by commit SHA with its
version in a comment, and every container image by digest."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
GITHUB = REPO / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))


def zizmor() -> str:
    found = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or shutil.which("zizmor")
    if found is None:
        pytest.fail("zizmor is not installed: it is in the `test` extra (pip install -e '.[test]')")
    return found


def audit(directory: Path) -> list[dict]:
    done = subprocess.run(
        [zizmor(), "--offline", "--no-progress", "--min-severity", "medium", "--format", "json",
         str(directory)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode in (0, 11, 12, 13, 14), done.stderr  # 1x: findings, by severity
    return list(json.loads(done.stdout))


def test_zizmor_reports_nothing_at_medium_or_above() -> None:
    findings = audit(GITHUB)
    assert findings == [], [(f["ident"], f["desc"]) for f in findings]


def test_the_audit_sees_an_unpinned_action(tmp_path: Path) -> None:
    """The check can fail: the same audit over a workflow with a tag-pinned action."""
    github = tmp_path / ".github"
    (github / "workflows").mkdir(parents=True)
    (github / "workflows" / "w.yml").write_text(
        "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: actions/checkout@v4\n        with:\n          persist-credentials: false\n"
    )
    assert "unpinned-uses" in {f["ident"] for f in audit(github)}


def _steps_and_containers() -> list[tuple[str, str, str]]:
    """(file, kind, value): every `uses:` line and every job's container image."""
    found = []
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            match = re.match(r"\s*(?:- )?uses:\s*(.+)$", line)
            if match:
                found.append((path.name, "uses", match.group(1)))
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            container = job.get("container")
            if container:
                image = container["image"] if isinstance(container, dict) else container
                found.append((path.name, "image", image))
    return found


def test_every_action_by_sha_with_its_version_and_every_image_by_digest() -> None:
    found = _steps_and_containers()
    assert any(kind == "image" for _, kind, _ in found)
    for name, kind, value in found:
        if kind == "uses":
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}\s+# v\d+(\.\d+)*", value), (
                name, value,
            )  # fmt: skip
        else:
            assert re.fullmatch(r"[\w./:-]+@sha256:[0-9a-f]{64}", value), (name, value)
