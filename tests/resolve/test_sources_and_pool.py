"""The parts of resolve around the scanner: which files, which projects, whether a build
would push, the bounded pool of builds (with a stand-in for the child build), and
the command line."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from hatch_krust.cli import build_parser
from hatch_krust.errors import KrustError
from hatch_krust.resolve import (
    Project,
    build_all,
    build_project,
    collect_files,
    projects_of,
    push_problem,
    read_files,
    resolve,
)
from hatch_krust.resolve.builds import read_reference


def touch(path: Path, text: str = "a: 1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# -- files ----------------------------------------------------------------------------------


def test_a_directory_means_its_yaml_files_sorted(tmp_path: Path) -> None:
    for name in ("b.yml", "a.yaml", "c.json", "README.md", "sub/d.yaml", "a/e.yaml"):
        touch(tmp_path / name)
    assert collect_files([str(tmp_path)]) == [str(tmp_path / "a.yaml"), str(tmp_path / "b.yml")]


def test_recursive_walks_like_kubectl(tmp_path: Path) -> None:
    for name in ("b.yml", "a.yaml", "sub/d.yaml", "a/e.yaml", "a/z/f.yml", "sub/x.txt"):
        touch(tmp_path / name)
    found = collect_files([str(tmp_path)], recursive=True)
    assert [Path(f).relative_to(tmp_path).as_posix() for f in found] == [
        "a/e.yaml",
        "a/z/f.yml",
        "a.yaml",
        "b.yml",
        "sub/d.yaml",
    ]


def test_files_are_kept_in_the_order_given(tmp_path: Path) -> None:
    b, a = touch(tmp_path / "b.txt"), touch(tmp_path / "a.yaml")
    assert collect_files([str(b), str(a), "-"]) == [str(b), str(a), "-"]


def test_missing_and_empty_sources_are_errors(tmp_path: Path) -> None:
    with pytest.raises(KrustError, match=r"nope\.yaml: no such file or directory"):
        collect_files([str(tmp_path / "nope.yaml")])
    touch(tmp_path / "only" / "deep" / "x.yaml")
    with pytest.raises(KrustError, match=r"has no \.yaml or \.yml files \(-R also reads"):
        collect_files([str(tmp_path / "only")])
    assert collect_files([str(tmp_path / "only")], recursive=True)


def test_stdin_and_utf8(tmp_path: Path) -> None:
    files = read_files(["-"], stdin=lambda: b"image: krust://x\n")
    assert files[0].name == "<stdin>"
    assert [o.path for o in files[0].occurrences] == ["x"]
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"a: \xe9\n")
    with pytest.raises(KrustError, match=r"latin1\.yaml: not UTF-8"):
        read_files([str(bad)])


# -- projects -------------------------------------------------------------------------------


def test_spellings_of_one_directory_are_one_project(tmp_path: Path) -> None:
    touch(tmp_path / "apps" / "a" / "pyproject.toml", "")
    files = read_files(
        ["-"], stdin=lambda: b"- krust://apps/a\n- krust://./apps/a/\n- krust://apps/../apps/a\n"
    )
    by_path = projects_of(files, tmp_path)
    assert set(by_path) == {"apps/a", "./apps/a/", "apps/../apps/a"}
    (project,) = {id(p): p for p in by_path.values()}.values()
    assert project.label == "apps/a"
    assert project.places == ["<stdin>:1", "<stdin>:2", "<stdin>:3"]


def test_every_bad_path_is_named_with_its_places(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    files = read_files(
        ["-"], stdin=lambda: b"- krust://missing\n- krust://empty\n- krust://missing\n"
    )
    with pytest.raises(KrustError) as caught:
        projects_of(files, tmp_path)
    message = str(caught.value)
    missing = f"krust://missing (<stdin>:1, <stdin>:3): no such directory {tmp_path}/missing"
    assert missing in message
    assert f"krust://empty (<stdin>:2): {tmp_path}/empty has no pyproject.toml" in message


# -- confinement: YAML from an untrusted change builds only projects under the cwd ---------


def outside_setup(tmp_path: Path) -> Path:
    """A workspace `ws` with one project, and projects beside it that YAML may name."""
    for name in ("ws/apps/a", "other", "ws-evil"):
        touch(tmp_path / name / "pyproject.toml", "")
    return tmp_path / "ws"


@pytest.mark.parametrize(
    "path", ["../other", "apps/../../other", "../ws-evil", "{root}/other", "..", "/"]
)
def test_a_project_outside_the_current_directory_is_refused(tmp_path: Path, path: str) -> None:
    ws = outside_setup(tmp_path)
    written = path.format(root=tmp_path)
    data = f"image: krust://{written}\n".encode()
    files = read_files(["-"], stdin=lambda: data)
    with pytest.raises(KrustError) as caught:
        projects_of(files, ws)
    (line,) = str(caught.value).splitlines()
    target = (ws / written).resolve()
    assert line == (
        f"krust://{written} (<stdin>:1): {target} is outside {ws}, the directory resolve runs "
        f"in, and resolve builds only projects under it; if the YAML is trusted, pass "
        f"--allow-outside {target}"
    )


def test_a_symlink_out_of_the_current_directory_is_refused(tmp_path: Path) -> None:
    ws = outside_setup(tmp_path)
    (ws / "apps" / "link").symlink_to(tmp_path / "other", target_is_directory=True)
    (ws / "apps" / "inner").symlink_to(ws / "apps" / "a", target_is_directory=True)
    files = read_files(["-"], stdin=lambda: b"- krust://apps/link\n- krust://apps/inner\n")
    with pytest.raises(KrustError, match=r"^krust://apps/link \(<stdin>:1\): \S+/other is out"):
        projects_of(files, ws)
    files = read_files(["-"], stdin=lambda: b"- krust://apps/inner\n")
    assert projects_of(files, ws)["apps/inner"].directory == ws / "apps" / "a"


def test_the_current_directory_itself_and_below_are_allowed(tmp_path: Path) -> None:
    ws = outside_setup(tmp_path)
    touch(ws / "pyproject.toml", "")
    data = f"- krust://.\n- krust://{ws}/apps/a\n".encode()
    files = read_files(["-"], stdin=lambda: data)
    by_path = projects_of(files, ws)
    assert [p.directory for p in by_path.values()] == [ws, ws / "apps" / "a"]


def test_allow_outside_widens_to_exactly_the_directories_named(tmp_path: Path) -> None:
    ws = outside_setup(tmp_path)
    yaml_text = b"- krust://../other\n- krust://../ws-evil\n"
    files = read_files(["-"], stdin=lambda: yaml_text)
    with pytest.raises(KrustError) as caught:
        projects_of(files, ws, [Path("../other")])
    assert str(caught.value).startswith("krust://../ws-evil (<stdin>:2): ")
    by_path = projects_of(files, ws, [Path("../other"), tmp_path / "ws-evil"])
    assert by_path["../other"].directory == tmp_path / "other"
    assert set(projects_of(files, ws, [Path("/")])) == {"../other", "../ws-evil"}


def test_resolve_refuses_before_building(
    tmp_path: Path, fake_python: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing is built, not even the allowed project, when one reference is outside."""
    projects(tmp_path, "p1")
    touch(tmp_path / "elsewhere" / "pyproject.toml", "")
    touch(tmp_path / "ws" / "k.yaml", "a: krust://p1\nb: krust://../elsewhere\n")
    monkeypatch.setenv("KRUST_REPO", "reg.example/team")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    with pytest.raises(KrustError, match=r"^krust://\.\./elsewhere \(k\.yaml:2\): .* outside"):
        resolve(["k.yaml"], quiet=True, cwd=tmp_path / "ws", python=fake_python,
                env=dict(os.environ))
    assert runs(tmp_path) == []
    out = resolve(["k.yaml"], quiet=True, cwd=tmp_path / "ws", python=fake_python,
                  env=dict(os.environ), allow_outside=[tmp_path / "elsewhere"])
    assert out.count("@sha256:") == 2
    assert sorted(n for n, _ in runs(tmp_path)) == ["elsewhere", "p1"]


@pytest.mark.parametrize(
    ("pyproject", "env", "problem"),
    [
        ("", {}, "no repository is set"),
        ("", {"KRUST_REPO": "reg.example/team"}, None),
        ('[tool.hatch.build.targets.krust]\nrepository = "reg.example/x"\n', {}, None),
        ("", {"KRUST_REPO": "reg.example/team", "KRUST_PUSH": "false"}, "pushing is turned off"),
        (
            "[tool.hatch.build.targets.krust]\npush = false\n",
            {"KRUST_REPO": "r.example/t"},
            "pushing is turned off",
        ),
        ("[tool.hatch.build.targets.krust]\ntags = 5\n", {}, None),  # the build will say
    ],
)
def test_whether_a_build_would_push(
    tmp_path: Path, pyproject: str, env: dict[str, str], problem: str | None
) -> None:
    touch(tmp_path / "p" / "pyproject.toml", pyproject)
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), **env}
    found = push_problem(tmp_path / "p", env)
    assert found == problem if problem is None else (found is not None and problem in found)


def test_user_defaults_give_a_repository(tmp_path: Path) -> None:
    touch(tmp_path / "p" / "pyproject.toml", "")
    touch(tmp_path / "config" / "hatch-krust" / "config.toml", 'repository = "reg.example/me"\n')
    assert push_problem(tmp_path / "p", {"XDG_CONFIG_HOME": str(tmp_path / "config")}) is None


# -- builds, with a stand-in for the child `python -m hatch_krust.plugin.run` ---------------

FAKE_PYTHON = """\
#!{python}
import json, os, sys, time
from pathlib import Path
assert sys.argv[1:3] == ["-m", "hatch_krust.plugin.run"], sys.argv
assert sys.argv[3] == "--result", sys.argv
result = Path(sys.argv[4])
log = Path(os.environ["FAKE_LOG"])
name = Path.cwd().name
running = log / "running"
running.mkdir(parents=True, exist_ok=True)
(running / name).touch()
with open(log / "runs", "a") as f:
    f.write(name + " " + str(len(list(running.iterdir()))) + "\\n")
print("progress of", name, file=sys.stderr, flush=True)
time.sleep(float(os.environ.get("FAKE_SLEEP", "0")))
(running / name).unlink()
if name.startswith("fail"):
    for i in range(30):
        print(f"line {{i}} of the failure", file=sys.stderr)
    sys.exit(3)
print("stdout is not read", flush=True)
reference = None if name.startswith("silent") else f"reg.example/team/{{name}}@sha256:" + "0" * 64
result.write_text(json.dumps({{"reference": reference, "record": {{"reference": reference}}}}))
"""


@pytest.fixture
def fake_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    script = tmp_path / "fake-python"
    script.write_text(FAKE_PYTHON.format(python=sys.executable))
    script.chmod(0o755)
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "log"))
    return str(script)


def projects(tmp_path: Path, *names: str) -> list[Project]:
    result: list[Project] = []
    for name in names:
        touch(tmp_path / "ws" / name / "pyproject.toml", "")
        result.append(Project((tmp_path / "ws" / name).resolve(), name, [f"k.yaml:{len(result)}"]))
    return result


def runs(tmp_path: Path) -> list[tuple[str, int]]:
    path = tmp_path / "log" / "runs"
    if not path.exists():
        return []
    return [(n, int(c)) for n, c in (line.split() for line in path.read_text().splitlines())]


def test_builds_run_in_a_bounded_pool(
    tmp_path: Path, fake_python: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SLEEP", "1")
    lines: list[str] = []
    built = build_all(
        projects(tmp_path, "p1", "p2", "p3", "p4"),
        dict(os.environ),
        jobs=2,
        python=fake_python,
        progress=lines.append,
    )
    assert sorted(n for n, _ in runs(tmp_path)) == ["p1", "p2", "p3", "p4"]
    assert max(c for _, c in runs(tmp_path)) == 2  # two at once, never more
    assert built[(tmp_path / "ws" / "p3").resolve()] == f"reg.example/team/p3@sha256:{'0' * 64}"
    assert "[p2] progress of p2\n" in lines  # stderr, prefixed with the project's path


def test_a_failure_stops_new_builds_and_quotes_the_last_lines(
    tmp_path: Path, fake_python: str
) -> None:
    with pytest.raises(KrustError) as caught:
        build_all(
            projects(tmp_path, "fail-1", "p2", "p3"),
            dict(os.environ),
            jobs=1,
            python=fake_python,
            progress=None,
        )
    assert [n for n, _ in runs(tmp_path)] == ["fail-1"]  # the queued builds never started
    message = str(caught.value)
    assert message.startswith("krust://fail-1 (k.yaml:0): building ")
    assert "exited with status 3" in message
    assert "  line 29 of the failure" in message
    assert "line 9 of the failure" not in message  # the last 20 lines only


def test_every_failure_is_reported(tmp_path: Path, fake_python: str) -> None:
    with pytest.raises(KrustError) as caught:
        build_all(
            projects(tmp_path, "fail-1", "fail-2"),
            dict(os.environ),
            jobs=2,
            python=fake_python,
            progress=None,
        )
    message = str(caught.value)
    assert message.startswith("2 builds failed:\nkrust://fail-1")
    assert "\nkrust://fail-2 (k.yaml:1): building" in message


def test_a_build_that_pushes_nothing_is_an_error(tmp_path: Path, fake_python: str) -> None:
    (project,) = projects(tmp_path, "silent")
    with pytest.raises(KrustError, match=r"built but not pushed .* set KRUST_REPO="):
        build_project(project, dict(os.environ), python=fake_python, progress=None)


def test_resolve_with_the_stand_in(
    tmp_path: Path, fake_python: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    projects(tmp_path, "p1", "p2")
    yaml_text = textwrap.dedent("""\
        a: krust://p1   # krust://p2 in a comment
        b: [krust://./p2, 'krust://p1']
    """)
    touch(tmp_path / "ws" / "k.yaml", yaml_text)
    monkeypatch.setenv("KRUST_REPO", "reg.example/team")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    out = resolve(
        ["k.yaml"], quiet=True, cwd=tmp_path / "ws", python=fake_python, env=dict(os.environ)
    )
    zero = "@sha256:" + "0" * 64
    assert out == (
        f"a: reg.example/team/p1{zero}   # krust://p2 in a comment\n"
        f"b: [reg.example/team/p2{zero}, 'reg.example/team/p1{zero}']\n"
    )
    assert sorted(n for n, _ in runs(tmp_path)) == ["p1", "p2"]


def test_image_refs_lists_each_reference_once_in_yaml_order(
    tmp_path: Path, fake_python: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    projects(tmp_path, "zeta", "alpha")
    touch(tmp_path / "ws" / "k.yaml", "a: krust://zeta\nb: krust://alpha\nc: krust://./zeta\n")
    monkeypatch.setenv("KRUST_REPO", "reg.example/team")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "ws" / "refs.txt").write_text("stale\n")
    resolve(
        ["k.yaml"],
        quiet=True,
        cwd=tmp_path / "ws",
        python=fake_python,
        env=dict(os.environ),
        image_refs=Path("refs.txt"),
    )
    zero = "@sha256:" + "0" * 64
    assert (tmp_path / "ws" / "refs.txt").read_text() == (
        f"reg.example/team/zeta{zero}\nreg.example/team/alpha{zero}\n"
    )
    assert sorted(p.name for p in (tmp_path / "ws").iterdir()) == [
        "alpha", "k.yaml", "refs.txt", "zeta"
    ]  # no partial file left beside it


def test_a_failed_resolve_writes_no_image_refs(
    tmp_path: Path, fake_python: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    projects(tmp_path, "ok", "fail-1")
    touch(tmp_path / "ws" / "k.yaml", "a: krust://ok\nb: krust://fail-1\n")
    monkeypatch.setenv("KRUST_REPO", "reg.example/team")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    with pytest.raises(KrustError, match="fail-1"):
        resolve(["k.yaml"], quiet=True, cwd=tmp_path / "ws", python=fake_python,
                env=dict(os.environ), image_refs=tmp_path / "refs.txt")
    assert not (tmp_path / "refs.txt").exists()


def test_image_refs_into_a_missing_directory_is_one_error(
    tmp_path: Path, fake_python: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    projects(tmp_path, "p1")
    touch(tmp_path / "ws" / "k.yaml", "a: krust://p1\n")
    monkeypatch.setenv("KRUST_REPO", "reg.example/team")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    with pytest.raises(KrustError, match=r"^Cannot write --image-refs nowhere/refs.txt: No such"):
        resolve(["k.yaml"], quiet=True, cwd=tmp_path / "ws", python=fake_python,
                env=dict(os.environ), image_refs=Path("nowhere/refs.txt"))


# -- command line ---------------------------------------------------------------------------


def test_command_line() -> None:
    parser = build_parser()
    args = parser.parse_args(["resolve", "-f", "a", "--filename", "b", "-R", "-j", "3"])
    assert (args.filename, args.recursive, args.jobs, args.quiet) == (["a", "b"], True, 3, False)
    args = parser.parse_args(["apply", "-f", "d", "--", "-n", "demo", "--dry-run=client"])
    assert args.kubectl_args == ["-n", "demo", "--dry-run=client"]
    assert parser.parse_args(["apply", "-f", "d"]).kubectl_args == []
    args = parser.parse_args(["apply", "-f", "d", "--allow-outside", "../x", "--allow-outside=/"])
    assert args.allow_outside == [Path("../x"), Path("/")]
    assert parser.parse_args(["resolve", "-f", "d"]).allow_outside == []
    assert parser.parse_args(["resolve", "-f", "d"]).image_refs is None
    args = parser.parse_args(["apply", "-f", "d", "--image-refs", "refs.txt"])
    assert args.image_refs == Path("refs.txt")
    with pytest.raises(SystemExit):
        parser.parse_args(["resolve"])  # -f is required


# -- the child's result ---------------------------------------------------------------------


def test_the_childs_result_is_read_as_data(tmp_path: Path) -> None:
    result = tmp_path / "result.json"
    reference = "reg.example/team/p@sha256:" + "1" * 64
    result.write_text(json.dumps({"reference": reference, "record": {"reference": reference}}))
    assert read_reference(result) == reference
    result.write_text(json.dumps({"reference": None, "record": {}}))
    assert read_reference(result) is None  # built, not pushed
    result.write_text("not json")
    assert read_reference(result) is None
    assert read_reference(tmp_path / "missing.json") is None
