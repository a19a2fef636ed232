"""Greets with every plugin the `greeters` library finds."""

import greeters


def main() -> int:
    for name, greeting in greeters.greet_all("krust"):
        print(f"{name}: {greeting}")
    return 0
