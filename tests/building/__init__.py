"""Tests of the building package (`hatch_krust/build/`, becoming `hatch_krust/building/`)."""
