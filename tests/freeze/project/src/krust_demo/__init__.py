"""A tiny project for the freeze tests."""
