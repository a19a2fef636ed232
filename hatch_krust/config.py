"""KrustConfig: every option of `[tool.hatch.build.targets.krust]`, validated once.

Each option has a TOML key (kebab-case), an environment override (`KRUST_*`, because
`hatch build` takes no target flags) and a default. Precedence, highest first: the
environment, the project's table, the user's `~/.config/hatch-krust/config.toml`
(only `base-image` and `repository` are read from there), the default. Every error
names the field or variable it came from, so the user knows what to edit.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from hatch_krust.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["OPTIONS", "KrustConfig", "Option", "load_config", "user_config_path"]

T = TypeVar("T")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_TAG_FIELDS = ("{version}", "{major}", "{minor}", "{micro}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_USER = re.compile(r"^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$")
_PLATFORM = re.compile(r"^linux/[a-z0-9]+(/[a-z0-9]+)?$")
_PORT = re.compile(r"^[0-9]{1,5}(/(tcp|udp|sctp))?$")
_EXTRA = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class Option:
    """One option: its TOML key, environment variable, type description and default."""

    key: str
    env: str
    kind: str
    default: str
    help: str


# The documentation test reads this table; docs/configuration.md must list each key.
OPTIONS: tuple[Option, ...] = (
    Option(
        "script",
        "KRUST_SCRIPT",
        "string",
        "the only script, or the one named like the project",
        "Which `[project.scripts]` entry becomes the executable.",
    ),
    Option(
        "python",
        "KRUST_PYTHON",
        "string",
        "the interpreter running the build",
        "The Python interpreter (path or command) to freeze with.",
    ),
    Option(
        "compress",
        "KRUST_COMPRESS",
        "boolean",
        "false",
        "Compress inside the executable (smaller file, about 0.3 s slower start).",
    ),
    Option(
        "hidden-imports",
        "KRUST_HIDDEN_IMPORTS",
        "array of strings",
        "[]",
        "Modules PyInstaller cannot see imported (`--hidden-import`).",
    ),
    Option(
        "exclude-modules",
        "KRUST_EXCLUDE_MODULES",
        "array of strings",
        "[]",
        "Modules to leave out (`--exclude-module`).",
    ),
    Option(
        "pyinstaller-args",
        "KRUST_PYINSTALLER_ARGS",
        "array of strings",
        "[]",
        "Extra PyInstaller arguments, passed as they are.",
    ),
    Option(
        "extras",
        "KRUST_EXTRAS",
        "array of strings",
        "[] (plus the extras the script's entry point names)",
        "Extras of the project installed with it, as in `pip install 'project[extra]'`.",
    ),
    Option(
        "wheel",
        "KRUST_WHEEL",
        "string",
        "none (the wheel is built from the project)",
        "An already-built wheel of this project and version to freeze (relative to the root).",
    ),
    Option(
        "exclude-entry-point-groups",
        "KRUST_EXCLUDE_ENTRY_POINT_GROUPS",
        "array of strings",
        "[]",
        "Entry-point groups whose modules are not bundled from the dependencies.",
    ),
    Option(
        "freezer",
        "KRUST_FREEZER",
        "string",
        '"pyinstaller"',
        "Which registered freezer makes the executable.",
    ),
    Option(
        "cache", "KRUST_CACHE", "boolean", "true", "Reuse an executable built from the same inputs."
    ),
    Option(
        "base-image",
        "KRUST_BASE_IMAGE",
        "string",
        '"cgr.dev/chainguard/static:latest"',
        "The base: a registry reference, `scratch`, `oci:DIR[:TAG]` or `oci-archive:FILE[:TAG]`.",
    ),
    Option(
        "repository",
        "KRUST_REPO",
        "string",
        "none (build locally only)",
        "Where to push. `KRUST_REPO` is a prefix: the project name is appended.",
    ),
    Option(
        "push",
        "KRUST_PUSH",
        "boolean",
        "true when a repository is known",
        "Set false to keep the image local even when a repository is known.",
    ),
    Option(
        "tags",
        "KRUST_TAGS",
        "array of strings",
        '["latest", "{version}"]',
        "Tags to push; `{version}`, `{major}`, `{minor}`, `{micro}` are filled in.",
    ),
    Option(
        "platforms",
        "KRUST_PLATFORMS",
        "array of strings",
        "the build host's platform",
        "Platforms of the image index, as `linux/amd64`, `linux/arm64`.",
    ),
    Option(
        "args",
        "KRUST_ARGS",
        "array of strings",
        "[]",
        "The image's `Cmd`: default arguments after the executable.",
    ),
    Option(
        "env",
        "KRUST_ENV",
        "table of strings",
        "{}",
        "Environment variables of the image, merged over the base's.",
    ),
    Option(
        "labels", "KRUST_LABELS", "table of strings", "{}", "Image labels, merged over the base's."
    ),
    Option(
        "user",
        "KRUST_USER",
        "string",
        '"65532"',
        "The user (and optional group) the executable runs as.",
    ),
    Option("workdir", "KRUST_WORKDIR", "string", '"/"', "The working directory."),
    Option(
        "ports", "KRUST_PORTS", "array of strings", "[]", "Exposed ports, as `8080` or `8080/tcp`."
    ),
    Option(
        "ca-certificates",
        "KRUST_CA_CERTIFICATES",
        "boolean or string",
        "true",
        "`true`: ship certifi's CA bundle when the base has none; `false`; or a PEM file.",
    ),
    Option(
        "insecure-registries",
        "KRUST_INSECURE_REGISTRIES",
        "array of strings",
        "[]",
        "Registries (host[:port]) that may be reached over plain http.",
    ),
    Option(
        "sbom",
        "KRUST_SBOM",
        "string or false",
        '"cyclonedx"',
        "The SBOM written and attached with the image: `cyclonedx`, `spdx`, or `false`.",
    ),
    Option(
        "output-dir",
        "KRUST_OUTPUT_DIR",
        "string",
        '"dist/krust" under the project root',
        "Where the wheel hook writes its outputs.",
    ),
)

DEFAULT_BASE_IMAGE = "cgr.dev/chainguard/static:latest"


def user_config_path(env: Mapping[str, str]) -> Path:
    """`$XDG_CONFIG_HOME/hatch-krust/config.toml`, default under `~/.config`."""
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hatch-krust" / "config.toml"


@dataclass(frozen=True)
class KrustConfig:
    """The validated options. Field names are the TOML keys in snake_case."""

    script: str | None = None
    python: str = field(default_factory=lambda: sys.executable)
    compress: bool = False
    hidden_imports: tuple[str, ...] = ()
    exclude_modules: tuple[str, ...] = ()
    pyinstaller_args: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    wheel: str | None = None
    exclude_entry_point_groups: tuple[str, ...] = ()
    freezer: str = "pyinstaller"
    cache: bool = True
    base_image: str = DEFAULT_BASE_IMAGE
    repository: str | None = None
    push: bool | None = None
    tags: tuple[str, ...] = ("latest", "{version}")
    platforms: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    user: str = "65532"
    workdir: str = "/"
    ports: tuple[str, ...] = ()
    ca_certificates: bool | str = True
    insecure_registries: tuple[str, ...] = ()
    sbom: str | None = "cyclonedx"
    output_dir: str | None = None

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
        }


class _Reader:
    """Reads one option from the environment, then the table, then user defaults."""

    def __init__(
        self,
        table: Mapping[str, Any],
        env: Mapping[str, str],
        prefix: str,
        user: Mapping[str, Any],
        user_path: Path,
    ) -> None:
        self.table = table
        self.env = env
        self.prefix = prefix
        self.user = user
        self.user_path = user_path

    def get(
        self,
        option: Option,
        from_toml: Callable[[Any, str], T],
        from_env: Callable[[str, str], T],
        default: T,
    ) -> T:
        raw_env = self.env.get(option.env)
        if raw_env is not None and raw_env != "":
            return from_env(raw_env, f"Environment variable `{option.env}`")
        if option.key in self.table:
            return from_toml(self.table[option.key], f"Field `{self.prefix}.{option.key}`")
        if option.key in self.user:
            return from_toml(self.user[option.key], f"Field `{option.key}` in {self.user_path}")
        return default


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


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _fail(where, f"must be an array of strings, not {_type_name(value)}")
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


def _sbom(value: Any, where: str) -> str | None:
    if value is False:
        return None
    if isinstance(value, str) and value.strip().lower() in _SBOM_FORMATS:
        return value.strip().lower()
    raise _fail(where, f'must be "cyclonedx", "spdx" or false, not {value!r}')


def _env_sbom(value: str, where: str) -> str | None:
    lowered = value.strip().lower()
    if lowered in _FALSE - {""}:
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
        if not pattern.match(item):
            raise _fail(where, f"has an invalid {what}: {item!r}")


# `uname -m` names people write by habit -> the names OCI platforms use.
_UNAME_NAMES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armv7l": "arm"}


def _check_platforms(platforms: tuple[str, ...], where: str) -> None:
    for text in platforms:
        arch = text.split("/")[1] if text.count("/") >= 1 else ""
        if arch in _UNAME_NAMES:
            raise _fail(
                where,
                f"has an invalid platform {text!r}",
                f"OCI calls this architecture `{_UNAME_NAMES[arch]}`: "
                f"did you mean `linux/{_UNAME_NAMES[arch]}`?",
            )
    _check_each(
        platforms,
        _PLATFORM,
        where,
        "platform (expected `linux/<architecture>[/<variant>]`, e.g. `linux/amd64`)",
    )


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
        if not _TAG.match(filled):
            raise _fail(
                where,
                f"has an invalid tag {tag!r}",
                "a tag is letters, digits, `_`, `.` and `-`, at most 128, "
                "not starting with `.` or `-`",
            )


def load_config(
    table: Mapping[str, Any],
    *,
    prefix: str = "tool.hatch.build.targets.krust",
    env: Mapping[str, str] | None = None,
    user_defaults: Mapping[str, Any] | None = None,
) -> KrustConfig:
    """Validate a krust table (plus environment and user defaults) into a KrustConfig.

    Raises ConfigError naming the field or variable on the first problem found.
    """
    env = os.environ if env is None else env
    user_path = user_config_path(env)
    if user_defaults is None:
        user_defaults = _read_user_defaults(user_path)
    known = {option.key for option in OPTIONS} | _HATCH_KEYS
    for key in table:
        if key not in known:
            close = [
                o.key
                for o in OPTIONS
                if o.key.replace("-", "") == key.replace("-", "").replace("_", "")
            ]
            hint = f"did you mean `{close[0]}`?" if close else "see docs/configuration.md"
            msg = f"Field `{prefix}.{key}`"
            raise _fail(msg, "is not a hatch-krust option", hint)
    r = _Reader(table, env, prefix, user_defaults, user_path)
    by_key = {option.key: option for option in OPTIONS}
    values: dict[str, Any] = {}
    for f in fields(KrustConfig):
        option = by_key[f.name.replace("_", "-")]
        values[f.name] = _read_one(r, option, f.name)
    config = KrustConfig(**{k: v for k, v in values.items() if v is not _UNSET})
    _validate(config, r)
    return config


class _Unset:
    pass


_UNSET: Any = _Unset()
_HATCH_KEYS = frozenset(
    {
        "directory",
        "include",
        "exclude",
        "packages",
        "only-include",
        "sources",
        "force-include",
        "artifacts",
        "reproducible",
        "skip-excluded-dirs",
        "ignore-vcs",
        "only-packages",
        "dev-mode-dirs",
        "versions",
        "dependencies",
        "require-runtime-dependencies",
        "require-runtime-features",
        "hooks",
        "enable-by-default",
    }
)


def _read_one(r: _Reader, option: Option, name: str) -> Any:
    if name == "repository":
        return _read_repository(r, option)
    if option.kind == "array of strings":
        env_parser = _env_words if name in {"pyinstaller_args", "args"} else _env_strings
        return r.get(option, _strings, env_parser, _UNSET)
    from_toml, from_env = _READERS.get(option.kind, (_ca, _env_ca))
    return r.get(option, from_toml, from_env, _UNSET)


def _read_repository(r: _Reader, option: Option) -> str | None:
    """`KRUST_REPO` is a prefix (like ko's KO_DOCKER_REPO); the option is the whole name."""
    prefix = r.env.get(option.env, "").strip().rstrip("/")
    if prefix:
        return prefix + "/{name}"
    if option.key in r.table:
        return _string(r.table[option.key], f"Field `{r.prefix}.{option.key}`")
    if option.key in r.user:
        value = _string(r.user[option.key], f"Field `{option.key}` in {r.user_path}")
        return value.rstrip("/") + "/{name}"
    return None


def _validate(config: KrustConfig, r: _Reader) -> None:
    """Checks of values (not types); each names where the value came from."""

    def where(key: str) -> str:
        option = next(o for o in OPTIONS if o.key == key)
        if r.env.get(option.env):
            return f"Environment variable `{option.env}`"
        return f"Field `{r.prefix}.{key}`"

    if config.script is not None and not re.match(r"^[A-Za-z0-9_.-]+$", config.script):
        raise _fail(where("script"), f"is not a script name: {config.script!r}")
    _check_each(config.hidden_imports, _MODULE, where("hidden-imports"), "module name")
    _check_each(config.exclude_modules, _MODULE, where("exclude-modules"), "module name")
    _check_each(config.extras, _EXTRA, where("extras"), "extra name")
    _check_tags(config.tags, where("tags"))
    _check_platforms(config.platforms, where("platforms"))
    _check_each(config.ports, _PORT, where("ports"), "port (expected `8080` or `8080/tcp`)")
    for key, _value in config.env:
        if not _ENV_NAME.match(key):
            raise _fail(where("env"), f"has an invalid variable name: {key!r}")
    for key, _value in config.labels:
        if not key.strip():
            raise _fail(where("labels"), "has an empty label name")
    if not _USER.match(config.user):
        raise _fail(
            where("user"), f"must be `USER` or `USER:GROUP` (names or ids), not {config.user!r}"
        )
    if not config.workdir.startswith("/"):
        raise _fail(where("workdir"), f"must be an absolute path, not {config.workdir!r}")
    if config.repository is not None and not re.match(r"^[a-z0-9.:_/{}-]+$", config.repository):
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
