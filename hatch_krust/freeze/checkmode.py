"""The import check's runtime half: import a list of modules and entry points, report each.

Standard library only, Python 3.8+: the build runs this file with the freeze
environment's Python, and the static launcher embeds its text (as it embeds pid1.py) and
runs it when the variable `CHECK_ENV` names a request file, instead of the program. The
same code on both sides, so a difference in the reports is a difference in what is
installed, not in how it was tried.

The request is a JSON array of items: `module:NAME` imports NAME, `entry:MODULE:ATTR`
imports MODULE and looks ATTR up. Each result is appended to the report file as one line
(`ok<TAB>item` or `fail<TAB>item<TAB>error`) and flushed, so that when an import kills the
process (os._exit, a crash in an extension) the caller knows how far it got and resumes
after the item that killed it.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

CHECK_ENV = "HATCH_KRUST_IMPORT_CHECK"  # "REQUEST_FILE:REPORT_FILE"


def _forget(before: set[str], name: str) -> None:
    """Drop the submodules a failed import of `name` left behind (a package whose
    `__init__` failed half-way keeps the children it did import): else whether a child
    imports would depend on the order the items are tried in."""
    for loaded in set(sys.modules) - before:
        if loaded.startswith(f"{name}."):
            del sys.modules[loaded]


def try_item(item: str) -> str:
    """Import one item; '' when it worked, else the error in one line."""
    kind, _, target = item.partition(":")
    before = set(sys.modules)
    try:
        if kind == "module":
            importlib.import_module(target)
        elif kind == "entry":
            module, _, attr = target.partition(":")
            value = importlib.import_module(module)
            for part in attr.split(".") if attr else ():
                value = getattr(value, part)
        else:
            return f"unknown item kind {kind!r}"
    except BaseException as exc:  # SystemExit and KeyboardInterrupt included
        _forget(before, target.partition(":")[0])
        return f"{type(exc).__name__}: {exc}".replace("\n", " ").replace("\t", " ")[:300]
    return ""


def run_check(request_file: str, report_file: str) -> None:
    """Try every item of the request, appending one line per item to the report."""
    items = json.loads(Path(request_file).read_text(encoding="utf-8"))
    with Path(report_file).open("a", encoding="utf-8") as report:
        for item in items:
            report.write(f"try\t{item}\n")
            report.flush()
            error = try_item(item)
            report.write(f"fail\t{item}\t{error}\n" if error else f"ok\t{item}\n")
            report.flush()


def main(value: str) -> int:
    """`value` is CHECK_ENV's: the request and report files, joined by a colon."""
    request_file, sep, report_file = value.rpartition(":")
    if not sep:
        sys.stderr.write(f"{CHECK_ENV} must be REQUEST_FILE:REPORT_FILE\n")
        return 2
    run_check(request_file, report_file)
    return 0


if __name__ == "__main__":
    sys.exit(main(os.environ.get(CHECK_ENV, "")))
