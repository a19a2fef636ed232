"""Tests of the flow, build then publish (`hatch_krust/build/flow.py`, becoming the
composition root `hatch_krust/flow.py`)."""
