"""Prints a greeting kept as package data, and its version from the distribution metadata."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import platform

import click


def greeting() -> str:
    return importlib.resources.files("hello").joinpath("data/greeting.txt").read_text().strip()


@click.command()
@click.version_option(importlib.metadata.version("hello"), prog_name="hello")
@click.option("--name", default="world", help="Who to greet.")
def main(name: str) -> None:
    """Greet NAME."""
    click.echo(f"{greeting()} (hello, {name})")
    click.echo(f"python {platform.python_version()}, click {importlib.metadata.version('click')}")


if __name__ == "__main__":
    main()
