"""The static probe of tests/oci (a tiny `gcc -static` program) stands in for a frozen
executable in the local-engine tests here too."""

from __future__ import annotations

from tests.oci.conftest import probe

__all__ = ["probe"]
