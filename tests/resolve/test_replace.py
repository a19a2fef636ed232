"""Finding and replacing `krust://PATH` on the text: only whole scalar values, everything
else byte for byte. PyYAML (a test dependency) is the oracle: the replaced text must parse
to the original documents with exactly the `krust://` values swapped."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from hatch_krust.errors import KrustError
from hatch_krust.resolve import find_references, join_files, replace_references

VALID = re.compile(r"krust://\S+")


def image_of(path: str) -> str:
    return f"reg.example:5000/team/{path.strip('./').replace('/', '-')}@sha256:{'a' * 64}"


def resolve_text(text: str) -> str:
    found = find_references(text, "t.yaml")
    return replace_references(text, found, {o.path: image_of(o.path) for o in found})


def swap(node: Any, key: bool = False) -> Any:
    """What a YAML-aware resolver does: every string value (not key) `krust://PATH`."""
    if isinstance(node, dict):
        return {swap(k, True): swap(v) for k, v in node.items()}
    if isinstance(node, list):
        return [swap(v) for v in node]
    if isinstance(node, str) and not key and VALID.fullmatch(node):
        return image_of(node[len("krust://") :])
    return node


ORACLE_CASES = [
    "image: krust://a\n",
    "image: 'krust://a'\n",
    'image: "krust://a"\n',
    "image: krust://a # and krust://b in a comment\n",
    "- krust://a\n- krust://b\n",
    "- - krust://a\n  - x\n",
    "images: [krust://a, 'krust://b', \"krust://c\"]\n",
    "m: {image: krust://a, other: krust://b}\n",
    "m: {image: krust://a,\n  other: krust://b\n  }\n",
    "a: [\n  krust://a, # c\n  krust://b\n]\n",
    'x: {"image":krust://a}\n',
    "key: [a, [krust://a, {b: krust://b}]]\n",
    "env:\n- {name: A, value: krust://a}\n",
    "image:\n  krust://a\n",
    "image: !!str krust://a\n",
    "image: &x krust://a\nother: *x\n",
    "krust://key: value\n",
    "'krust://key': krust://v\n",
    "? krust://k\n: krust://v\n",
    "a: 1\n---\nimage: krust://a\n...\n---\n- krust://b\n",
    "--- krust://a\n",
    "%YAML 1.2\n---\nimage: krust://a\n",
    "desc: built from krust://a today\n",
    'image: "krust:\\/\\/a"\n',
    's: "multi\n  line"\nt: krust://b\n',
    "s: 'it''s'\nt: krust://b\n",
    "a: b\r\nimage: krust://a\r\n",
    'a: "krust://a" # x\nb: c#krust://d\n',
    "a: x # y\n  # a comment, not a continuation\nb: krust://q\n",
    "list:\n- krust://a\n  # comment\n- krust://b\n",
    "k: >\n\n  folded krust://a\n\nm: krust://m\n",
    "text: |\n  krust://a\n  more\nimage: krust://b\n",
    "x: |\n  # krust://a\n  image: krust://a\ny: krust://b # c\n",
    "a:\n  - b: krust://x\n    c: |\n      krust://not\n    d: krust://y\n  - krust://z\n",
    "url: http://example.com/krust://x\nimage: krust://a:tag\n",
    (
        "spec:\n  containers:\n  - name: x\n    image: krust://app\n"
        '    args: ["--x", krust://y]\n  - image: "krust://app"\n'
    ),
]


@pytest.mark.parametrize("text", ORACLE_CASES)
def test_replacement_agrees_with_a_yaml_parser(text: str) -> None:
    out = resolve_text(text)
    assert list(yaml.safe_load_all(out)) == [swap(d) for d in yaml.safe_load_all(text)]


@pytest.mark.parametrize("text", [t for t in ORACLE_CASES if "\\" not in t])
def test_only_the_reference_bytes_change(text: str) -> None:
    out = resolve_text(text)
    for path in {o.path for o in find_references(text)}:
        out = out.replace(image_of(path), "krust://" + path)
    assert out == text  # comments, quoting, order, separators, line endings: all as they were


def test_quoted_and_plain_keep_their_quotes() -> None:
    text = "a: krust://x\nb: 'krust://x'\nc: \"krust://y\"   # krust://z\n"
    assert resolve_text(text) == (
        f"a: {image_of('x')}\nb: '{image_of('x')}'\nc: \"{image_of('y')}\"   # krust://z\n"
    )


def test_several_on_one_line_in_a_flow_sequence() -> None:
    found = find_references("images: [krust://a, 'krust://b', {i: krust://c}]\n")
    assert [(o.path, o.line) for o in found] == [("a", 1), ("b", 1), ("c", 1)]


def test_comments_are_never_references() -> None:
    """Decision: a commented-out image is neither built nor replaced (ko reads YAML the same
    way); only values count."""
    text = "# image: krust://old\nimage: krust://new  # was krust://old\n  # krust://x\n"
    assert [o.path for o in find_references(text)] == ["new"]
    assert "krust://old" in resolve_text(text)


def test_keys_block_scalars_and_longer_strings_are_left_alone() -> None:
    text = (
        "krust://key: 1\n"
        "script: |\n  docker run krust://a\n  krust://b\n"
        "note: see krust://c\n"
        "url: https://krust://d\n"
    )
    assert find_references(text) == []
    assert resolve_text(text) == text


def test_line_numbers_count_from_one() -> None:
    found = find_references("---\na: 1\n\nb:\n  - image: krust://x\n")
    assert [(o.path, o.line) for o in found] == [("x", 5)]


def test_crlf_line_endings_are_kept() -> None:
    text = "a: 1\r\nimage: krust://a\r\nb: 'krust://b'\r\n"
    assert resolve_text(text) == f"a: 1\r\nimage: {image_of('a')}\r\nb: '{image_of('b')}'\r\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("image: krust://\n", "t.yaml:1: 'krust://' is not `krust://PATH`"),
        ("a: 1\nimage: 'krust://my app'\n", "t.yaml:2: 'krust://my app' is not `krust://PATH`"),
        ("image: krust://a\n  continued\n", "t.yaml:1: a `krust://` value must be one scalar"),
        ("image: [krust://a\n  b]\n", "t.yaml:1: a `krust://` value must be one scalar"),
        ('image: "krust://a\n  b"\n', "t.yaml:1: a `krust://` value must be one scalar"),
    ],
)
def test_a_value_starting_with_the_scheme_must_be_a_path(text: str, message: str) -> None:
    with pytest.raises(KrustError) as caught:
        find_references(text, "t.yaml")
    assert message in str(caught.value)


def test_files_are_joined_as_documents() -> None:
    assert join_files(["a: 1\n"]) == "a: 1\n"
    assert join_files(["a: 1\n", "b: 2\n"]) == "a: 1\n---\nb: 2\n"
    assert join_files(["a: 1", "b: 2"]) == "a: 1\n---\nb: 2"  # a missing newline is added
    assert join_files(["a: 1\n", "---\nb: 2\n"]) == "a: 1\n---\nb: 2\n"  # no empty document
    assert join_files(["a: 1\n", "", "c: 3\n"]) == "a: 1\n---\n---\nc: 3\n"


class AnyTagLoader(yaml.SafeLoader):  # type: ignore[misc]
    """Safe loading that keeps going past tags it does not know (`!!python/name:` in
    mkdocs.yml, `!Ref` in CloudFormation), as their text."""


AnyTagLoader.add_multi_constructor("", lambda _loader, suffix, _node: f"<{suffix}>")

REPO = Path(__file__).resolve().parents[2]
REAL_YAML = sorted(
    p
    for pattern in ("*.yml", "*.yaml", ".github/**/*.yml", "examples/**/*.yaml", "docs/**/*.yml")
    for p in REPO.glob(pattern)
    if ".venv" not in p.parts
)


@pytest.mark.parametrize("path", REAL_YAML, ids=lambda p: str(p.relative_to(REPO)))
def test_references_planted_in_real_yaml(path: Path) -> None:
    """Every value scalar of the repository's own YAML (workflows, mkdocs.yml, the
    Kubernetes example) that PyYAML's scanner places on one line becomes a reference in
    its own quoting style; the scanner must agree with PyYAML on all of them."""
    text = path.read_text(encoding="utf-8")
    spans = []
    previous = None
    for token in yaml.scan(text):
        if (
            isinstance(token, yaml.ScalarToken)
            and isinstance(
                previous,
                (
                    yaml.ValueToken,
                    yaml.BlockEntryToken,
                    yaml.FlowEntryToken,
                    yaml.FlowSequenceStartToken,
                ),
            )
            and token.style in (None, "'", '"')
            and token.start_mark.line == token.end_mark.line
        ):
            quote = 1 if token.style else 0
            spans.append((token.start_mark.index + quote, token.end_mark.index - quote))
        previous = token
    planted = text
    for i, (start, end) in enumerate(sorted(spans, reverse=True)):
        planted = planted[:start] + f"krust://p{i}" + planted[end:]
    assert len(find_references(planted)) == len(spans) > 0
    assert list(yaml.load_all(resolve_text(planted), AnyTagLoader)) == [
        swap(d) for d in yaml.load_all(planted, AnyTagLoader)
    ]
