"""Tests of `hatch_krust/errors.py`'s edge: what a failure shows the user."""
