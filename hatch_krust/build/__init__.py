"""Temporary home of `wheel.py` until it joins the Python toolkit (`hatch_krust.python`)."""
