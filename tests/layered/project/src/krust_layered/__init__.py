"""The layered-format test project."""

CHANGE = "original"
