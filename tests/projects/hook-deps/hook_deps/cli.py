"""Prints what the wheel's build hook generated."""

from hook_deps._generated import MESSAGE


def main() -> int:
    print(f"hook says: {MESSAGE}")
    return 0
