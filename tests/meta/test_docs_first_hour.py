"""What a new user reads in the first hour says what the code does: the default format,
what a build writes, what cleans it, and how a static image runs on a read-only root."""

from __future__ import annotations

import re
from pathlib import Path

from hatch_krust.building.outputs import DOCUMENT_SUFFIXES
from hatch_krust.config import KrustConfig
from hatch_krust.formats.static import STATIC_TMP_HINT

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
PAGES = [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]


def test_the_default_format_is_the_one_the_pages_name() -> None:
    assert KrustConfig().format == "layered"
    for page in (REPO / "README.md", DOCS / "index.md", DOCS / "getting-started.md"):
        text = page.read_text()
        assert "`layered` (default)" in text or "`layered` (the default)" in text, page.name
        assert "layered.md" in text, f"{page.name} does not link the layered format"
        assert "holds only that executable" not in text, page.name


def test_hatch_clean_is_documented_as_it_behaves() -> None:
    """A plain `hatch clean` cleans the default targets: dist/krust/ needs `-t krust`."""
    for page in PAGES:
        text = " ".join(page.read_text().split())
        assert "`hatch clean` removes" not in text, page
    config = " ".join((DOCS / "configuration.md").read_text().split())
    assert "`hatch clean -t krust` removes only that default `krust/` directory" in config
    assert "A plain `hatch clean` cleans the default targets" in config


def test_the_demo_outputs_table_lists_every_file_a_static_build_writes() -> None:
    """examples/hello (static, default SBOM): the executable, the archive, the record, and
    every document but the SPDX SBOM (not the default)."""
    text = (DOCS / "getting-started.md").read_text()
    listed = set(re.findall(r"^\| `(hello-1\.2\.3[^`]*)` \|", text, re.M))
    stem = "hello-1.2.3"
    documents = {stem + s for s in DOCUMENT_SUFFIXES if s != ".spdx.json"}
    assert listed == {f"{stem}-linux-amd64", f"{stem}.oci.tar", f"{stem}.build.json", *documents}


def test_the_read_only_root_of_the_static_format_is_explained() -> None:
    text = (DOCS / "troubleshooting.md").read_text()
    section = text.split("### The static format on a read-only root", 1)[1].split("\n### ")[0]
    for needed in (
        "Failed to create temporary directory in /tmp: Read-only file system",
        "Failed to execv() /tmp/staticx-…/app: Permission denied",
        "--tmpfs /tmp:exec",
        "emptyDir",
        "mountPath: /tmp",
    ):
        assert needed in section, needed
    assert "docs/troubleshooting.md" in STATIC_TMP_HINT
    assert "--tmpfs /tmp:exec" in STATIC_TMP_HINT
    assert STATIC_TMP_HINT.split(":")[0] in section  # the page quotes the build's line
