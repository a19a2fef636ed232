"""`python -m hatch_krust` runs the `hatch-krust` command."""

from __future__ import annotations

import sys

from hatch_krust.cli import main

if __name__ == "__main__":
    sys.exit(main())
