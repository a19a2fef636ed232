"""Generates hook_deps/_generated.py with a package only this hook declares."""

from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from text_unidecode import unidecode


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        text = unidecode("générée au moment du build")
        target = Path(self.root) / "hook_deps" / "_generated.py"
        target.write_text(f"MESSAGE = {text!r}\n", encoding="utf-8")
