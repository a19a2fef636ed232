"""Tests of the configuration (`hatch_krust/config.py`): values, origins, rules."""
