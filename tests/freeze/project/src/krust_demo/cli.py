"""Prints one JSON line with everything the freeze tests check."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.resources
import json
import sys

import yaml  # type: ignore[import-untyped]


def main() -> int:
    """Report version, package data, a C-accelerated YAML load and a dynamic import."""
    loaded = yaml.load("answer: 42\nlist: [1, 2]\n", Loader=yaml.CLoader)
    data = importlib.resources.files("krust_demo").joinpath("data/greeting.txt")
    report = {
        "version": importlib.metadata.version("krust-freeze-demo"),
        "data": data.read_text().strip(),
        "yaml": loaded,
        "cloader": yaml.__with_libyaml__,
        "plugin": importlib.import_module("krust_demo.plugins.extra").NAME,
        "frozen": bool(getattr(sys, "frozen", False)),
    }
    print(json.dumps(report, sort_keys=True))
    return 3 if "--fail" in sys.argv[1:] else 0
