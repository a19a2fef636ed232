"""hatch-krust: a Python project as one static executable and a minimal OCI image."""

from hatch_krust.__about__ import __version__

__all__ = ["__version__"]
