"""Needs its `words` extra: without it the import below fails."""

import sys

import inflection


def main() -> int:
    words = sys.argv[1:] or ["frozen", "with", "its", "extra"]
    print(inflection.camelize("_".join(words)))
    return 0
