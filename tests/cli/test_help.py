"""The command's help says what each command's options mean for that command (issue 12):
`sbom --platform` is the SBOM's, `--jobs` counts blobs in push/copy/merge and projects in
resolve, and the top-level help says that building is `hatch build -t krust`. Pure."""

from __future__ import annotations

import argparse

import pytest

from hatch_krust.cli import build_parser


def parser_of(command: str | None = None) -> argparse.ArgumentParser:
    parser = build_parser()
    if command is None:
        return parser
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices[command]  # type: ignore[index,no-any-return]


def help_of(command: str | None = None) -> str:
    return " ".join(parser_of(command).format_help().split())


def option_help(command: str, option: str) -> str:
    """The help text argparse has for `option` of `command` (from the parser itself)."""
    actions = parser_of(command)._actions
    return next(str(a.help) for a in actions if option in a.option_strings)


def test_the_top_level_help_says_how_to_build() -> None:
    text = help_of()
    assert "`hatch build -t krust` makes the image" in text
    assert "`hatch build -t krust:binary` only the executable" in text


def test_sbom_platform_is_the_sboms() -> None:
    text = help_of("sbom")
    assert option_help("sbom", "--platform").startswith(
        "print the SBOM of this platform's image of an index"
    )
    assert "check only" not in text
    assert option_help("verify", "--platform") == "check only this platform's image of an index"


@pytest.mark.parametrize(
    ("command", "meaning"),
    [
        ("push", "blobs uploaded at once (default 4)"),
        ("copy", "blobs copied at once (default 4)"),
        ("merge", "blobs copied and pushed at once while joining (default 4)"),
        ("inspect", "blobs read at once"),
        ("resolve", "projects built at once (default: the cores, at most 4); not blob "
         "transfers"),
        ("apply", "projects built at once"),
    ],
)
def test_jobs_says_what_it_counts_for_each_command(command: str, meaning: str) -> None:
    assert option_help(command, "--jobs").startswith(meaning)
