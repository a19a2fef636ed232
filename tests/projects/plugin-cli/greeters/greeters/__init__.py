"""Loads greeters registered under the `greeters.plugins` entry-point group."""

from importlib.metadata import entry_points


def greet_all(name):
    found = entry_points(group="greeters.plugins")
    return [(ep.name, ep.load()(name)) for ep in sorted(found, key=lambda ep: ep.name)]
