"""Run staticx with a reproducible embedded archive.

staticx builds its archive with Python's tarfile from temporary copies, so member mtimes
and owners change from build to build. Every member added here gets uid/gid 0, empty
owner names and, when SOURCE_DATE_EPOCH is set, that mtime.

Usage: python staticx_run.py STATICX_ARGS...
"""

from __future__ import annotations

import os
import sys
import tarfile
from typing import Any

from staticx.__main__ import main as staticx_main


def normalise_tar_members(epoch: int | None) -> None:
    """Patch TarFile.addfile (tarfile's single funnel for members) to write fixed metadata."""
    original = tarfile.TarFile.addfile

    def addfile(self: tarfile.TarFile, tarinfo: tarfile.TarInfo, *args: Any, **kwargs: Any) -> Any:
        tarinfo.uid = tarinfo.gid = 0
        tarinfo.uname = tarinfo.gname = ""
        if epoch is not None:
            tarinfo.mtime = epoch
        return original(self, tarinfo, *args, **kwargs)

    tarfile.TarFile.addfile = addfile  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    normalise_tar_members(int(epoch) if epoch else None)
    sys.argv = ["staticx", *argv]
    staticx_main()


if __name__ == "__main__":
    main(sys.argv[1:])
