"""The documentation site builds with `mkdocs build --strict`: every page in the nav, no
broken link or anchor, SECURITY.md included as the security page. The YAML shown in the
docs and the repository's own GitHub files parse.

MkDocs and the Material theme come from the test extras (`mkdocs-material`); a missing
install fails here rather than skipping, like every other test tool."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"


def mkdocs_build(root: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """`mkdocs build --strict` of `root/mkdocs.yml` into `site`, run from `root`."""
    for module, package in (("mkdocs", "mkdocs"), ("material", "mkdocs-material")):
        if importlib.util.find_spec(module) is None:
            pytest.fail(
                f"`{package}` is not installed; run `bash scripts/test.sh`, which "
                "installs the test extras"
            )
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(root / "mkdocs.yml"),
            "--site-dir",
            str(site),
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def copy_site_sources(target: Path) -> Path:
    """What the site is built from, copied so a test can break it without touching ours."""
    shutil.copytree(DOCS, target / "docs")
    for name in ("mkdocs.yml", "SECURITY.md"):
        shutil.copy2(REPO / name, target / name)
    return target


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    built = mkdocs_build(REPO, tmp_path / "site")
    assert built.returncode == 0, built.stdout + built.stderr
    security = (tmp_path / "site" / "security" / "index.html").read_text()
    assert "What hatch-krust promises" in security  # SECURITY.md was included, not linked
    assert "--8&lt;--" not in security and "--8<--" not in security


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ("orphan", 'not included in the "nav"'),
        ("link", "orphan-target.md"),
        ("anchor", "#no-such-anchor"),
    ],
)
def test_strict_mode_catches_broken_docs(tmp_path: Path, breakage: str, expected: str) -> None:
    """The guard itself must be able to fail: an unlisted page, a dead link, a dead anchor."""
    root = copy_site_sources(tmp_path / "src")
    if breakage == "orphan":
        (root / "docs" / "orphan.md").write_text("# Not in the nav\n")
    elif breakage == "link":
        with (root / "docs" / "index.md").open("a") as page:
            page.write("\nSee [a missing page](orphan-target.md).\n")
    else:
        with (root / "docs" / "index.md").open("a") as page:
            page.write("\nSee [a missing anchor](configuration.md#no-such-anchor).\n")
    built = mkdocs_build(root, tmp_path / "site")
    assert built.returncode != 0, built.stderr
    assert expected in built.stderr, built.stderr


def test_every_page_is_in_the_nav() -> None:
    nav = (REPO / "mkdocs.yml").read_text()
    listed = set(re.findall(r":\s*([\w/.-]+\.md)\s*$", nav, flags=re.MULTILINE))
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert pages - listed == set(), "pages missing from the nav in mkdocs.yml"


def test_yaml_shown_in_the_docs_parses() -> None:
    """Recipes are copied into pipelines as they are: each ```yaml block must be valid."""
    blocks = 0
    for page in sorted(DOCS.rglob("*.md")):
        for block in re.findall(r"^```yaml\n(.*?)^```", page.read_text(), re.MULTILINE | re.DOTALL):
            blocks += 1
            try:
                list(yaml.safe_load_all(block))
            except yaml.YAMLError as exc:
                pytest.fail(f"{page.relative_to(REPO)}: a yaml block does not parse: {exc}")
    assert blocks >= 3  # the GitHub Actions, GitLab CI and Kubernetes recipes


def test_github_workflow_and_dependabot_are_valid() -> None:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    jobs = workflow["jobs"]
    commands = "\n".join(str(step.get("run", "")) for job in jobs.values() for step in job["steps"])
    for needed in ("ruff check", "mypy", "scripts/test.sh", "mkdocs build --strict", "pip-audit"):
        assert needed in commands, f"ci.yml does not run {needed}"
    dependabot = yaml.safe_load((REPO / ".github" / "dependabot.yml").read_text())
    assert dependabot["version"] == 2
    ecosystems = {update["package-ecosystem"] for update in dependabot["updates"]}
    assert ecosystems == {"pip", "github-actions"}
