"""KrustConfig: every option of `[tool.hatch.build.targets.krust]`, validated once.

Each option has a TOML key (kebab-case), an environment override (`KRUST_*`, because
`hatch build` takes no target flags) and a default. Precedence, highest first: the
environment, the project's table, the user's `~/.config/hatch-krust/config.toml`
(only `base-image` and `repository` are read from there), the default. Every error
names the field or variable it came from, so the user knows what to edit. Keys of
hatchling's own (`reproducible`, `hooks`, ...) may sit beside ours: their names are read
from hatchling itself (`hatchling_target_keys`).
"""

from __future__ import annotations

import ast
import difflib
import functools
import inspect
import json
import re
import sys
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from hatch_krust.errors import ConfigError, ImageError
from hatch_krust.oci.grammar import ENV_NAME, PORT, TAG, USER, port_in_range
from hatch_krust.oci.platform import Platform

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "DEFAULT_BASE_IMAGE",
    "OPTIONS",
    "KrustConfig",
    "Option",
    "hatchling_hook_keys",
    "hatchling_target_keys",
    "load_config",
    "option_fields",
    "unknown_variables",
    "user_config_path",
]

T = TypeVar("T")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_TAG_FIELDS = ("{version}", "{major}", "{minor}", "{micro}")
_PLATFORM = re.compile(r"^linux/[a-z0-9]+(/[a-z0-9]+)?$")
_EXTRA = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class KrustConfig:
    """The validated options. Field names are the TOML keys in snake_case.

    Each default is declared here and only here (`OPTIONS` shows them from these fields).
    Besides the options it keeps where each value came from (`origin`) and the
    environment it was read from (`environ`), so later steps word their errors and read
    variables without looking at `os.environ` themselves.
    """

    script: str | None = None
    python: str = field(default_factory=lambda: sys.executable)
    compress: bool = False
    hidden_imports: tuple[str, ...] = ()
    exclude_modules: tuple[str, ...] = ()
    pyinstaller_args: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    wheel: str | None = None
    exclude_entry_point_groups: tuple[str, ...] = ()
    collect: str = "all"
    import_check: bool = True
    freezer: str = "pyinstaller"
    cache: bool = True
    base_image: str = "cgr.dev/chainguard/static:latest"
    repository: str | None = None
    push: bool | None = None
    tags: tuple[str, ...] = ("latest", "{version}")
    platforms: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    user: str = "65532"
    workdir: str = "/"
    ports: tuple[str, ...] = ()
    ca_certificates: bool | str = True
    insecure_registries: tuple[str, ...] = ()
    sbom: str | None = "cyclonedx"
    format: str = "layered"
    zoneinfo: bool = True
    extra_files: tuple[tuple[str, str], ...] = ()
    output_dir: str | None = None
    origins: Mapping[str, str] = field(
        default_factory=dict, compare=False, repr=False, metadata={"option": False}
    )
    environ: Mapping[str, str] = field(
        default_factory=dict, compare=False, repr=False, metadata={"option": False}
    )

    def origin(self, key: str) -> str:
        """Where option `key` (its TOML name) came from, as an error message names it:
        "Environment variable `KRUST_SCRIPT`", "Field `tool.hatch...script`",
        "Field `base-image` in ~/.config/hatch-krust/config.toml" or "The default"."""
        return self.origins.get(key, DEFAULT_ORIGIN)

    def option_values(self) -> dict[str, Any]:
        """The options by TOML key, arrays as lists (for the provenance's parameters)."""
        return {
            f.name.replace("_", "-"): list(v) if isinstance(v, tuple) else v
            for f in option_fields()
            for v in (getattr(self, f.name),)
        }

    def freeze_options(self) -> dict[str, Any]:
        """The options that change the executable: part of its cache key."""
        return {
            "compress": self.compress,
            "hidden_imports": list(self.hidden_imports),
            "exclude_modules": list(self.exclude_modules),
            "pyinstaller_args": list(self.pyinstaller_args),
            "freezer": self.freezer,
            "extras": sorted(self.extras),
            "exclude_entry_point_groups": sorted(self.exclude_entry_point_groups),
            "collect": self.collect,
            "import_check": self.import_check,
        }


def option_fields() -> tuple[Field[Any], ...]:
    """The fields of KrustConfig that are options (not its origins and environment)."""
    return tuple(f for f in fields(KrustConfig) if f.metadata.get("option", True))


DEFAULT_ORIGIN = "The default"
REPOSITORY_ENV = "KRUST_REPOSITORY"  # the whole repository name; `KRUST_REPO` is a prefix
DEFAULT_BASE_IMAGE: str = KrustConfig.base_image
TARGET_PREFIX = "tool.hatch.build.targets.krust"


@dataclass(frozen=True)
class Option:
    """One option: its TOML key, environment variable, type description and help.

    `shown` describes a default that is not a plain value (computed, or "none");
    otherwise the default shown is the KrustConfig field's, written as TOML.
    """

    key: str
    env: str
    kind: str
    help: str
    shown: str | None = None

    @property
    def default(self) -> str:
        if self.shown is not None:
            return self.shown
        value = KrustConfig.__dataclass_fields__[self.key.replace("-", "_")].default
        return _toml(value, self.kind)


def _toml(value: Any, kind: str) -> str:
    if kind == "table of strings":
        return "{" + ", ".join(f'{k} = "{v}"' for k, v in value) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return "[" + ", ".join(_toml(v, "string") for v in value) + "]"


# The documentation test reads this table; docs/configuration.md must list each key.
OPTIONS: tuple[Option, ...] = (
    Option(
        "script",
        "KRUST_SCRIPT",
        "string",
        "Which `[project.scripts]` entry becomes the executable (layered: or a native "
        "program of the project's or a dependency's wheel).",
        "the only script, or the one named like the project",
    ),
    Option(
        "python",
        "KRUST_PYTHON",
        "string",
        "Static format: the Python interpreter (path or command) to freeze with. Layered "
        'format: `"base"` (the base image\'s own Python), `"bundled"` (the build '
        "machine's, copied in), or the path of one of the base's interpreters (a path the "
        "base lacks is a build-machine interpreter to bundle); see docs/platforms.md.",
        "the interpreter running the build (layered: `base` when the base has a Python, "
        "else `bundled`)",
    ),
    Option(
        "compress",
        "KRUST_COMPRESS",
        "boolean",
        "Compress inside the executable (smaller file, about 0.3 s slower start).",
    ),
    Option(
        "hidden-imports",
        "KRUST_HIDDEN_IMPORTS",
        "array of strings",
        "Modules PyInstaller cannot see imported (`--hidden-import`).",
    ),
    Option(
        "exclude-modules",
        "KRUST_EXCLUDE_MODULES",
        "array of strings",
        "Modules to leave out (`--exclude-module`).",
    ),
    Option(
        "pyinstaller-args",
        "KRUST_PYINSTALLER_ARGS",
        "array of strings",
        "Extra PyInstaller arguments, passed as they are.",
    ),
    Option(
        "extras",
        "KRUST_EXTRAS",
        "array of strings",
        "Extras of the project installed with it, as in `pip install 'project[extra]'`.",
        "[] (plus the extras the script's entry point names)",
    ),
    Option(
        "wheel",
        "KRUST_WHEEL",
        "string",
        "An already-built wheel of this project and version to freeze (relative to the root).",
        "none (the wheel is built from the project)",
    ),
    Option(
        "exclude-entry-point-groups",
        "KRUST_EXCLUDE_ENTRY_POINT_GROUPS",
        "array of strings",
        "Entry-point groups whose modules are not bundled from the dependencies.",
    ),
    Option(
        "collect",
        "KRUST_COLLECT",
        "string",
        'What the static executable holds: `"all"` (every module and data file of every '
        'installed distribution, from their RECORD) or `"imports"` (what PyInstaller\'s '
        "import analysis finds: smaller, misses modules imported by name).",
    ),
    Option(
        "import-check",
        "KRUST_IMPORT_CHECK",
        "boolean",
        "Check at build time that the static executable imports every module and entry "
        "point the build's environment imports; the build fails naming those it cannot.",
    ),
    Option(
        "freezer", "KRUST_FREEZER", "string", "Which registered freezer makes the executable."
    ),
    Option("cache", "KRUST_CACHE", "boolean", "Reuse an executable built from the same inputs."),
    Option(
        "base-image",
        "KRUST_BASE_IMAGE",
        "string",
        "The base: a registry reference, `scratch`, `oci:DIR[:TAG]` or `oci-archive:FILE[:TAG]`.",
    ),
    Option(
        "repository",
        "KRUST_REPO",
        "string",
        "Where to push: the whole name. `KRUST_REPO` is a prefix (the project name is "
        "appended); `KRUST_REPOSITORY` is the whole name.",
        "none (build locally only)",
    ),
    Option(
        "push",
        "KRUST_PUSH",
        "boolean",
        "Set false to keep the image local even when a repository is known. The wheel hook "
        "pushes only with `push = true` in its own table or `KRUST_PUSH=1`.",
        "true when a repository is known (target); false (wheel hook)",
    ),
    Option(
        "tags",
        "KRUST_TAGS",
        "array of strings",
        "Tags to push; `{version}`, `{major}`, `{minor}`, `{micro}` are filled in.",
    ),
    Option(
        "platforms",
        "KRUST_PLATFORMS",
        "array of strings",
        "Platforms of the image index, as `linux/amd64`, `linux/arm64`.",
        "the build host's platform",
    ),
    Option(
        "args",
        "KRUST_ARGS",
        "array of strings",
        "The image's `Cmd`: default arguments after the executable.",
    ),
    Option(
        "env",
        "KRUST_ENV",
        "table of strings",
        "Environment variables of the image, merged over the base's.",
    ),
    Option("labels", "KRUST_LABELS", "table of strings", "Image labels, merged over the base's."),
    Option(
        "annotations",
        "KRUST_ANNOTATIONS",
        "table of strings",
        "OCI annotations on the manifests and the index; a key given here wins over ours.",
    ),
    Option(
        "user", "KRUST_USER", "string", "The user (and optional group) the executable runs as."
    ),
    Option("workdir", "KRUST_WORKDIR", "string", "The working directory."),
    Option("ports", "KRUST_PORTS", "array of strings", "Exposed ports, as `8080` or `8080/tcp`."),
    Option(
        "ca-certificates",
        "KRUST_CA_CERTIFICATES",
        "boolean or string",
        "`true`: ship certifi's CA bundle when the base has none; `false`; or a PEM file.",
    ),
    Option(
        "insecure-registries",
        "KRUST_INSECURE_REGISTRIES",
        "array of strings",
        "Registries (host[:port]) that may be reached over plain http.",
    ),
    Option(
        "sbom",
        "KRUST_SBOM",
        "string or false",
        "The SBOM written and attached with the image: `cyclonedx`, `spdx`, or `false` "
        '(`"none"` as ko spells it).',
    ),
    Option(
        "format",
        "KRUST_FORMAT",
        "string",
        "The image format: `layered` (the program unpacked in layers, with its "
        "interpreter; see docs/layered.md) or `static` (one frozen executable).",
    ),
    Option(
        "zoneinfo",
        "KRUST_ZONEINFO",
        "boolean",
        "Ship the build host's time zone database (/usr/share/zoneinfo, a layer of its own) "
        "when the base has none and the program's environment has no `tzdata`.",
    ),
    Option(
        "extra-files",
        "KRUST_EXTRA_FILES",
        "table of strings",
        "Files that are not in the wheel: image path -> project path (file or directory), "
        "in a layer of their own, owned by root, readable by the run-as user.",
    ),
    Option(
        "output-dir",
        "KRUST_OUTPUT_DIR",
        "string",
        "Where the `krust` target (image version) and the wheel hook write their outputs.",
        '"dist/krust" under the project root',
    ),
)


# `KRUST_*` variables read besides the options' own: the whole repository name, the
# machine's settings (docs/configuration.md, "Environment-only variables") and what a build
# sets for its own child processes. `KRUST_TEST_*` belongs to hatch-krust's test suite.
_OTHER_VARIABLES = frozenset({
    REPOSITORY_ENV, "KRUST_CACHE_DIR", "KRUST_LOCAL_ENGINE", "KRUST_INNER_WHEEL",
    "KRUST_CHECK", "KRUST_STATICX_REPORT", "KRUST_PYINSTALLER_ARGS_FILE",
})  # fmt: skip


def unknown_variables(env: Mapping[str, str]) -> list[str]:
    """A warning for each `KRUST_*` variable that nothing reads: a misspelt one
    (`KRUST_FROMAT=static`) would otherwise change nothing, without a word."""
    known = {option.env for option in OPTIONS} | _OTHER_VARIABLES
    warnings = []
    for name in sorted(env):
        if not name.startswith("KRUST_") or name in known or name.startswith("KRUST_TEST_"):
            continue
        # compared without the prefix every name shares
        suffixes = {k.removeprefix("KRUST_"): k for k in known}
        close = difflib.get_close_matches(name[6:], sorted(suffixes), n=1, cutoff=0.75)
        hint = f"did you mean `{suffixes[close[0]]}`?" if close else "see docs/configuration.md"
        warnings.append(
            f"environment variable `{name}` is not a hatch-krust setting and is ignored: {hint}"
        )
    return warnings


def user_config_path(env: Mapping[str, str]) -> Path:
    """`$XDG_CONFIG_HOME/hatch-krust/config.toml`, default under `~/.config`."""
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hatch-krust" / "config.toml"


@dataclass(frozen=True)
class _Table:
    """A TOML table of options and how its fields are named in messages."""

    values: Mapping[str, Any]
    prefix: str = ""  # `Field `PREFIX.KEY``; empty for the user file
    path: Path | None = None  # the user file: `Field `KEY` in PATH`

    def where(self, key: str) -> str:
        if self.path is not None:
            return f"Field `{key}` in {self.path}"
        return f"Field `{self.prefix}.{key}`"


@dataclass(frozen=True)
class _Reader:
    """Reads one option from the environment, then each table in turn, then user defaults."""

    env: Mapping[str, str]
    tables: tuple[_Table, ...]  # the project's (highest first), then the user file's

    def find(self, option: Option) -> tuple[Any, str, bool] | None:
        """(raw value, where it came from, whether from the environment), or None."""
        raw_env = self.env.get(option.env)
        if raw_env is not None and raw_env != "":
            return raw_env, f"Environment variable `{option.env}`", True
        for table in self.tables:
            if option.key in table.values:
                return table.values[option.key], table.where(option.key), False
        return None

    def get(
        self,
        option: Option,
        from_toml: Callable[[Any, str], T],
        from_env: Callable[[str, str], T],
    ) -> tuple[T, str] | None:
        found = self.find(option)
        if found is None:
            return None
        raw, where, in_env = found
        return (from_env if in_env else from_toml)(raw, where), where


def _fail(where: str, what: str, hint: str = "") -> ConfigError:
    return ConfigError(f"{where} {what}{'; ' + hint if hint else ''}")


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _fail(where, f"must be a string, not {_type_name(value)}")
    if not value.strip():
        raise _fail(where, "must not be empty")
    return value


def _boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, f"must be a boolean (true or false), not {_type_name(value)}")
    return value


def _env_boolean(value: str, where: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise _fail(where, f"must be one of 1, 0, true, false, yes, no (got {value!r})")


def _strings(
    value: Any, where: str, split: Callable[[str, str], tuple[str, ...]] | None = None
) -> tuple[str, ...]:
    """An array of strings; a string is answered with the array it stands for, split as
    the option's environment variable is (`split`)."""
    if not isinstance(value, list):
        hint = ""
        if isinstance(value, str):
            try:
                items = list((split or _env_strings)(value, where)) or [value]
            except ConfigError:  # unbalanced quotes: not a shell line
                items = [value]
            hint = f": write {json.dumps(items)}"
        raise _fail(where, f"must be an array of strings, not {_type_name(value)}{hint}")
    for i, item in enumerate(value, 1):
        if not isinstance(item, str):
            raise _fail(where, f"must be an array of strings; item #{i} is {_type_name(item)}")
    return tuple(value)


def _env_strings(value: str, where: str) -> tuple[str, ...]:
    del where
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _env_words(value: str, where: str) -> tuple[str, ...]:
    """Whitespace-separated with shell quoting, for argument lists."""
    import shlex

    try:
        return tuple(shlex.split(value))
    except ValueError as exc:
        raise _fail(where, f"could not be split into arguments: {exc}") from None


def _table(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise _fail(where, f"must be a table of strings, not {_type_name(value)}")
    out = []
    for key, item in value.items():
        if not isinstance(item, str):
            raise _fail(where, f"must be a table of strings; `{key}` is {_type_name(item)}")
        out.append((str(key), item))
    return tuple(sorted(out))


def _env_table(value: str, where: str) -> tuple[tuple[str, str], ...]:
    out = []
    for item in _env_strings(value, where):
        key, sep, val = item.partition("=")
        if not sep or not key:
            raise _fail(where, f"must be comma-separated KEY=VALUE pairs (got {item!r})")
        out.append((key.strip(), val))
    return tuple(sorted(out))


def _ca(value: Any, where: str) -> bool | str:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip():
        return value
    raise _fail(where, "must be true, false, or the path of a PEM bundle")


def _env_ca(value: str, where: str) -> bool | str:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return _ca(value, where)


_SBOM_FORMATS = ("cyclonedx", "spdx")
IMAGE_FORMATS = ("static", "layered")
COLLECT_MODES = ("all", "imports")  # hatch_krust/freeze/collect.py
PYTHON_KEYWORDS = ("base", "bundled")  # the layered format's; anything else is an interpreter


def _sbom(value: Any, where: str) -> str | None:
    if value is False or (isinstance(value, str) and value.strip().lower() == "none"):
        return None  # ko spells "no SBOM" `none`
    if isinstance(value, str) and value.strip().lower() in _SBOM_FORMATS:
        return value.strip().lower()
    raise _fail(where, f'must be "cyclonedx", "spdx", "none" or false, not {value!r}')


def _env_sbom(value: str, where: str) -> str | None:
    lowered = value.strip().lower()
    if lowered in _FALSE - {""} or lowered == "none":
        return None
    return _sbom(lowered, where)


# option kind -> (read from TOML, read from the environment); arrays and the repository
# are read by their own rules in _read_one
_READERS: dict[str, tuple[Callable[[Any, str], Any], Callable[[str, str], Any]]] = {
    "string": (_string, _string),
    "boolean": (_boolean, _env_boolean),
    "table of strings": (_table, _env_table),
    "string or false": (_sbom, _env_sbom),
}


def _type_name(value: Any) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)


def _check_each(items: tuple[str, ...], pattern: re.Pattern[str], where: str, what: str) -> None:
    for item in items:
        if not pattern.fullmatch(item):
            raise _fail(where, f"has an invalid {what}: {item!r}")


def _check_platforms(platforms: tuple[str, ...], where: str) -> None:
    """The platforms' spelling; which of them a build can make is the format's to say
    (`formats.static.check_static_platforms`, `formats.on_base.check_layered_platforms`)."""
    for text in platforms:
        if text == "all":
            continue  # ko's spelling: every platform of the base (the format decides)
        try:
            written = Platform.parse(text)
        except ImageError:
            continue  # the pattern below words it
        # `uname -m` names people write by habit
        oci = Platform("linux", written.architecture, written.variant).suggestion()
        if oci.architecture != written.architecture:
            raise _fail(
                where,
                f"has an invalid platform {text!r}",
                f"OCI calls this architecture `{oci.architecture}`: did you mean `{oci}`?",
            )
    _check_each(
        tuple(p for p in platforms if p != "all"),
        _PLATFORM,
        where,
        "platform (expected `linux/<architecture>[/<variant>]`, e.g. `linux/amd64`)",
    )


def _check_ports(ports: tuple[str, ...], where: str) -> None:
    _check_each(ports, PORT, where, "port (expected `8080` or `8080/tcp`)")
    for port in ports:
        if not port_in_range(port):
            raise _fail(where, f"has a port out of range: {port!r} (1 to 65535)")


def _check_tags(tags: tuple[str, ...], where: str) -> None:
    """A tag template is valid when it is a valid tag with its fields filled in."""
    for tag in tags:
        filled = tag
        for name in _TAG_FIELDS:
            filled = filled.replace(name, "0")
        if "{" in filled or "}" in filled:
            raise _fail(
                where,
                f"has an unknown field in tag {tag!r}",
                "tags may use {version}, {major}, {minor} and {micro}",
            )
        if not TAG.fullmatch(filled):
            raise _fail(
                where,
                f"has an invalid tag {tag!r}",
                "a tag is letters, digits, `_`, `.` and `-`, at most 128, "
                "not starting with `.` or `-`",
            )


def load_config(
    table: Mapping[str, Any],
    *,
    env: Mapping[str, str],
    prefix: str = TARGET_PREFIX,
    shared: Mapping[str, Any] | None = None,
    user_defaults: Mapping[str, Any] | None = None,
) -> KrustConfig:
    """Validate a krust table (plus environment and user defaults) into a KrustConfig.

    `env` is the one environment read (the caller passes `os.environ` or its own
    mapping); `shared`, read below `table`, is the krust target's table when `table` is
    the wheel hook's (its values are named by their own field in errors). Raises
    ConfigError naming the field or variable on the first problem found.
    """
    user_path = user_config_path(env)
    if user_defaults is None:
        user_defaults = _read_user_defaults(user_path)
    tables = [_Table(table, prefix)]
    if shared is not None:
        tables.append(_Table(shared, TARGET_PREFIX))
    for each in tables:
        _check_keys(each)
    r = _Reader(env, (*tables, _Table(user_defaults, path=user_path)))
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for option in OPTIONS:
        found = _read_one(r, option)
        if found is not None:
            values[option.key.replace("-", "_")], origins[option.key] = found
    config = KrustConfig(**values, origins=origins, environ=env)
    _validate(config)
    return config


def _check_keys(table: _Table) -> None:
    """Our options and hatchling's own keys; anything else is a typo worth naming."""
    target, hook = hatchling_target_keys(), hatchling_hook_keys()
    if target is None or hook is None:  # hatchling's source unreadable: cannot tell
        return
    known = {option.key for option in OPTIONS} | target | hook
    for key in table.values:
        if key not in known:
            close = _meant(key, known)
            hint = f"did you mean `{close}`?" if close else "see docs/configuration.md"
            raise _fail(table.where(key), "is not a hatch-krust option", hint)


# What Docker, ko and the like call our options.
_OTHER_TOOLS_WORDS = {
    "repo": "repository", "registry": "repository",
    "cmd": "args", "command": "args", "entrypoint": "script", "base": "base-image",
    "from": "base-image", "expose": "ports", "environment": "env",
}


def _meant(key: str, known: set[str]) -> str | None:
    """The known key `key` most likely stands for: another spelling (base_image,
    baseImage), another tool's word (repo, cmd), or one edit away (fromat, tag)."""
    squashed = key.replace("-", "").replace("_", "").lower()
    same = [o.key for o in OPTIONS if o.key.replace("-", "") == squashed]
    if same:
        return same[0]
    if squashed in _OTHER_TOOLS_WORDS:
        return _OTHER_TOOLS_WORDS[squashed]
    close = difflib.get_close_matches(key.lower(), sorted(known), n=1, cutoff=0.75)
    return close[0] if close else None


def _read_one(r: _Reader, option: Option) -> tuple[Any, str] | None:
    if option.key == "repository":
        return _read_repository(r, option)
    if option.kind == "array of strings":
        env_parser = _env_words if option.key in {"pyinstaller-args", "args"} else _env_strings
        return r.get(option, functools.partial(_strings, split=env_parser), env_parser)
    from_toml, from_env = _READERS.get(option.kind, (_ca, _env_ca))
    return r.get(option, from_toml, from_env)


def _read_repository(r: _Reader, option: Option) -> tuple[str, str] | None:
    """`KRUST_REPO` is a prefix (like ko's KO_DOCKER_REPO); the option is the whole name,
    except in the user file, where it is a prefix too. `KRUST_REPOSITORY` is the whole
    name from the environment (ko's `--bare`)."""
    prefix = r.env.get(option.env, "").strip().rstrip("/")
    whole = r.env.get(REPOSITORY_ENV, "").strip().rstrip("/")
    if prefix and whole:
        message = (
            f"Environment variables `{option.env}` (a prefix: the project name is appended) "
            f"and `{REPOSITORY_ENV}` (the whole name) are both set; set only one"
        )
        raise ConfigError(message)
    if whole:
        return whole, f"Environment variable `{REPOSITORY_ENV}`"
    if prefix:
        return prefix + "/{name}", f"Environment variable `{option.env}`"
    for table in r.tables:
        if option.key in table.values:
            where = table.where(option.key)
            value = _string(table.values[option.key], where)
            return (value.rstrip("/") + "/{name}" if table.path else value), where
    return None


def _check_python(python: str | None, where: str) -> None:
    """A near miss of the layered format's keywords (`bundeld`, `Base`) is not a command to
    look up on PATH after the wheel is built."""
    if python is None or python in PYTHON_KEYWORDS or "/" in python:
        return
    close = difflib.get_close_matches(python.lower(), PYTHON_KEYWORDS, n=1, cutoff=0.75)
    if close:
        raise _fail(
            where,
            f"is {python!r}, which is neither an interpreter nor a keyword",
            f'did you mean "{close[0]}"?',
        )


def _validate(config: KrustConfig) -> None:
    """Checks of values (not types); each names where the value came from."""
    where = config.origin
    if config.script is not None and not re.fullmatch(r"[A-Za-z0-9_.-]+", config.script):
        raise _fail(where("script"), f"is not a script name: {config.script!r}")
    _check_each(config.hidden_imports, _MODULE, where("hidden-imports"), "module name")
    _check_each(config.exclude_modules, _MODULE, where("exclude-modules"), "module name")
    _check_each(config.extras, _EXTRA, where("extras"), "extra name")
    _check_tags(config.tags, where("tags"))
    _check_python(config.python, where("python"))
    if config.collect not in COLLECT_MODES:
        raise _fail(where("collect"), f'must be "all" or "imports", not {config.collect!r}')
    if config.format not in IMAGE_FORMATS:
        raise _fail(where("format"), f'must be "static" or "layered", not {config.format!r}')
    _check_platforms(config.platforms, where("platforms"))
    _check_ports(config.ports, where("ports"))
    for key, _value in config.env:
        if not ENV_NAME.fullmatch(key):
            raise _fail(where("env"), f"has an invalid variable name: {key!r}")
    for key, _value in config.labels:
        if not key.strip():
            raise _fail(where("labels"), "has an empty label name")
    for key, _value in config.annotations:
        if not key.strip():
            raise _fail(where("annotations"), "has an empty annotation key")
    if not USER.fullmatch(config.user):
        raise _fail(
            where("user"), f"must be `USER` or `USER:GROUP` (names or ids), not {config.user!r}"
        )
    if not config.workdir.startswith("/"):
        raise _fail(where("workdir"), f"must be an absolute path, not {config.workdir!r}")
    if config.repository is not None and not re.fullmatch(r"[a-z0-9.:_/{}-]+", config.repository):
        raise _fail(
            where("repository"),
            f"is not a valid repository name: {config.repository.removesuffix('/{name}')!r}",
            "use lowercase `registry.example.com/team/app`",
        )


def _read_user_defaults(path: Path) -> dict[str, Any]:
    """User-wide defaults: only `base-image` and `repository` are honoured."""
    if not path.is_file():
        return {}
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        message = f"Could not read user defaults {path}: {exc}"
        raise ConfigError(message) from None
    allowed = {"base-image", "repository"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        message = (
            f"Unknown key `{unknown[0]}` in {path}; only `base-image` and `repository` are read"
        )
        raise ConfigError(message)
    return {k: v for k, v in data.items() if k in allowed}


# -- hatchling's own keys -----------------------------------------------------------------
# A krust table may hold them beside our options (`reproducible`, `dev-mode-exact`, `hooks`,
# ...); a hand-written copy drifts with every hatchling release, so the names are read from
# the source of hatchling's `BuilderConfig`: each string it looks up in a config table
# (`"x" in ...config`, `...config.get("x")`, `...config["x"]`). Tables named `config`
# there are a build hook's table; the others are the target's or the global one.


def hatchling_target_keys() -> frozenset[str] | None:
    """Keys hatchling reads from a target's table; None when its source cannot be read."""
    found = _keys_read()
    return None if found is None else found[0]


def hatchling_hook_keys() -> frozenset[str] | None:
    """Keys hatchling reads from a build hook's table; None when its source cannot be read."""
    found = _keys_read()
    return None if found is None else found[1]


@functools.cache
def _keys_read() -> tuple[frozenset[str], frozenset[str]] | None:
    from hatchling.builders.config import BuilderConfig

    try:
        tree = ast.parse(inspect.getsource(BuilderConfig))
    except (OSError, TypeError, SyntaxError):  # installed without sources
        return None
    target: set[str] = set()
    hook: set[str] = set()
    for node in ast.walk(tree):
        looked_up = _lookup(node)
        if looked_up is not None:
            table, key = looked_up
            (hook if table == "config" else target).add(key)
    return frozenset(target), frozenset(hook)


def _lookup(node: ast.AST) -> tuple[str, str] | None:
    """(table name, key) when `node` reads a literal key from a `*config` table."""
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.In):
        key, table = node.left, node.comparators[0]
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
        if node.func.attr != "get":
            return None
        key, table = node.args[0], node.func.value
    elif isinstance(node, ast.Subscript):
        key, table = node.slice, node.value
    else:
        return None
    name = _name(table)
    if name is None or not name.endswith("config"):
        return None
    if not isinstance(key, ast.Constant) or not isinstance(key.value, str):
        return None
    return name, key.value


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None
