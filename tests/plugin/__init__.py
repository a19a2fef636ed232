"""Tests of the Hatch plugin classes (`hatch_krust/plugin/`) that need no build."""
