"""Run staticx with a reproducible embedded archive.

staticx builds its archive with Python's tarfile from temporary copies, so member mtimes
and owners change from build to build. Every member added here gets uid/gid 0, empty
owner names and, when SOURCE_DATE_EPOCH is set, that mtime.

It also records every library staticx adds (the path it was asked for and the file that
path resolves to) into the JSON file named by KRUST_STATICX_REPORT, when that is set,
for the bill of materials.

Usage: python staticx_run.py STATICX_ARGS...
"""

from __future__ import annotations

import json
import os
import sys
import tarfile
from pathlib import Path
from typing import Any

from staticx.__main__ import main as staticx_main

REPORT_ENV = "KRUST_STATICX_REPORT"


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


def record_libraries(added: list[dict[str, str]]) -> None:
    """Wrap StaticxGenerator.add_library (every library goes through it, hooks' too)."""
    from staticx.api import StaticxGenerator

    original = StaticxGenerator.add_library

    def add_library(self: Any, libpath: str, *args: Any, **kwargs: Any) -> Any:
        real = os.path.realpath(libpath)
        if not any(entry["real"] == real for entry in added):
            added.append({"path": str(libpath), "real": real})
        return original(self, libpath, *args, **kwargs)

    StaticxGenerator.add_library = add_library


def main(argv: list[str]) -> None:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    normalise_tar_members(int(epoch) if epoch else None)
    added: list[dict[str, str]] = []
    report = os.environ.get(REPORT_ENV)
    if report:
        record_libraries(added)
    sys.argv = ["staticx", *argv]
    try:
        staticx_main()
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise
    if report:
        text = json.dumps(sorted(added, key=lambda e: e["real"]))
        Path(report).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
