"""The layered format on a Python base, for every platform, from one machine (issue 18).

`python` (`KRUST_PYTHON`) chooses whose interpreter the image runs: `base` (the base
image's own, read from its layers by `layered.base_python`), `bundled` (this machine's,
copied in: `formats.layered.LayeredFormat`'s own path), or a path naming one of the base's
interpreters. Unset, it is `base` when the base has a Python and `bundled` when not.

On a Python base each platform of `platforms` (`all`: every `linux/*` one the base's
index has) gets the base's manifest for it, the project's dependencies installed for that
platform's Python by uv (never run under emulation), and the same project layer. What
cannot be done is refused before anything is installed: a bundled interpreter for a
foreign platform, and the project's own compiled extension for another architecture.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import parse_wheel_filename

from hatch_krust.config import DEFAULT_ORIGIN
from hatch_krust.errors import ConfigError
from hatch_krust.formats.base import Bundle, Packaged, Program
from hatch_krust.oci.descriptor import Platform
from hatch_krust.oci.image import load_image

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from hatch_krust.config import KrustConfig
    from hatch_krust.formats.base import BaseSource
    from hatch_krust.inputs import BuildInputs
    from hatch_krust.layered import BuiltLayer, LayeredPlan
    from hatch_krust.layered.base_python import BasePython, BaseTree
    from hatch_krust.oci.assemble import BaseImage, ImageOptions
    from hatch_krust.oci.descriptor import Descriptor
    from hatch_krust.oci.image import ResolvedImage
    from hatch_krust.oci.layout import Layout
    from hatch_krust.progress import Reporter

__all__ = ["Target", "check_layered_platforms", "package_on_base", "python_mode"]

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le"}


@dataclass(frozen=True)
class Target:
    """One platform of the image: the base's manifest for it and its Python."""

    platform: Platform
    base: BaseImage
    base_digest: str  # the base's manifest for this platform
    python: BasePython


def python_mode(config: KrustConfig) -> str:
    """`auto` (unset), `base`, `bundled`, or a path of the base's."""
    if config.origin("python") == DEFAULT_ORIGIN:
        return "auto"
    return config.python


def check_layered_platforms(config: KrustConfig) -> Platform:
    """The checks `platforms` allows before the base is read; the image's first platform."""
    host = Platform.host()
    wanted = [Platform.parse(p) for p in config.platforms if p != "all"]
    if python_mode(config) == "bundled":
        for platform in wanted:
            if not host.satisfies(platform):
                raise _bundled_foreign(config, str(platform), host)
        if "all" in config.platforms:
            raise _bundled_foreign(config, "`all` platforms", host)
    if "all" in config.platforms or not wanted:
        return host
    return next((p for p in wanted if host.satisfies(p)), wanted[0])


def _bundled_foreign(config: KrustConfig, platform: str, host: Platform) -> ConfigError:
    why = "was asked for" if python_mode(config) == "bundled" else "is used (the base has none)"
    message = (
        f"{config.origin('platforms')} asks for {platform}, but this machine's interpreter, "
        f'which `python = "bundled"` copies into the image and {why}, runs only on {host}. '
        'Use `python = "base"` on a multi-platform Python base (python:3.12-slim, '
        "distroless python3, your own), or build each platform on a runner of its "
        "architecture and join the images with `hatch-krust merge DST SRC...`"
    )
    return ConfigError(message)


def package_on_base(
    inputs: BuildInputs, reporter: Reporter, work: Path, bases: BaseSource
) -> Packaged | None:
    """The layered image's packaging on the base's Python; None: bundle this machine's.
    `bases` opens the base for each platform (the build's: formats reach no registry)."""
    config = inputs.config
    mode = python_mode(config)
    if mode == "bundled":
        return None
    stack = contextlib.ExitStack()
    try:
        targets = _targets(config, bases)
        if targets is None:
            stack.close()
            _check_bundled(config)
            return None
        packaged = _package(inputs, reporter, work, targets, stack)
    except BaseException:
        stack.close()
        raise
    return packaged


def _check_bundled(config: KrustConfig) -> None:
    """Auto mode on a base without Python: the bundled interpreter, host platform only."""
    host = Platform.host()
    foreign = _first_foreign(config, host)
    if foreign is not None:
        raise _bundled_foreign(config, foreign, host)


def _first_foreign(config: KrustConfig, host: Platform) -> str | None:
    """The first of `platforms` this machine's interpreter cannot run, as messages name it."""
    for text in config.platforms:
        if text == "all" or not host.satisfies(Platform.parse(text)):
            return "`all` platforms" if text == "all" else text
    return None


def _targets(config: KrustConfig, bases: BaseSource) -> list[Target] | None:
    """One Target per wanted platform; None when the base has no Python (and none was
    asked for)."""
    from concurrent.futures import ThreadPoolExecutor

    from hatch_krust.layered.base_python import choose_python, read_tree

    mode = python_mode(config)
    where = config.origin("python")
    opened = _open_bases(config, bases)
    if opened is None:
        if mode == "base":
            message = f'{where} asks for the base\'s Python, but the base is scratch: use "bundled"'
            raise ConfigError(message)
        return None

    def read(pair: tuple[Platform, BaseImage]) -> tuple[ResolvedImage, BaseTree] | Exception:
        try:
            resolved = load_image(pair[1].layout, pair[1].descriptor, pair[0])
            layers, env = resolved.manifest.layers, resolved.config.config.env
            return resolved, read_tree(pair[1].layout, layers, env)
        except Exception as exc:  # raised below, in platform order
            return exc

    # the platforms' bases at once: inflating their layers runs outside the GIL
    with ThreadPoolExecutor(max_workers=max(1, min(4, len(opened)))) as pool:
        read_all = list(pool.map(read, opened))
    targets: list[Target] = []
    for (platform, base), found in zip(opened, read_all, strict=True):
        if isinstance(found, Exception):
            raise found
        resolved, tree = found
        requested = None if mode in ("auto", "base") else mode
        if requested is not None and _on_this_machine(tree, requested):
            _check_path_bundled(config, requested, tree)
            return None  # a path the base lacks: this machine's interpreter, bundled
        python = choose_python(tree, requested, where)
        if python is None:
            if mode == "auto" and not targets:
                return None
            message = (
                f"{where}: the base image {config.base_image} has no Python for {platform}; "
                'use a Python base or `python = "bundled"`'
            )
            raise ConfigError(message)
        targets.append(Target(platform, base, resolved.descriptor.digest, python))
    return targets


def _on_this_machine(tree: BaseTree, path: str) -> bool:
    """`python` names an interpreter of this machine, not one of the base's."""
    if tree.resolve(path.strip("/")) in tree.files:
        return False
    return Path(path).is_file() or shutil.which(path) is not None


def _check_path_bundled(config: KrustConfig, path: str, tree: BaseTree) -> None:
    """`python` names an interpreter of this machine, not the base's: it is bundled, so
    only this machine's platform can be built."""
    from hatch_krust.layered.base_python import interpreters

    host = Platform.host()
    asked = _first_foreign(config, host)
    if asked is None:
        return
    have = ", ".join(f"/{p}" for p in interpreters(tree)) or "none"
    message = (
        f"{config.origin('python')} names {path!r}, which the base image lacks (its Python: "
        f"{have}), so it names this machine's interpreter, copied into the image; that runs "
        f"only on {host}, and {config.origin('platforms')} asks for {asked}. Give the base's "
        "interpreter (its path, or `base`) to build every platform here, or build each "
        "platform on a runner of its architecture and join the images with `hatch-krust "
        "merge DST SRC...`"
    )
    raise ConfigError(message)


def _open_bases(config: KrustConfig, bases: BaseSource) -> list[tuple[Platform, BaseImage]] | None:
    """(platform, base) for each wanted platform; None for scratch. A platform the base
    lacks is one message naming `platforms` and what the base has."""
    from hatch_krust.errors import PlatformMissing
    from hatch_krust.oci.image import platforms_of

    offered = bases.offered(every="all" in config.platforms, first=check_layered_platforms(config))
    if offered is None:
        return None
    opened = []
    for platform in _wanted(config, offered):
        try:
            base = bases.open(platform)  # a registry base: pulled for `platform`
            has = [p for p, _ in platforms_of(base.layout, base.descriptor)]
        except PlatformMissing as exc:  # the registry's index lacks `platform`
            has = [Platform.parse(p) for p in exc.offered]
        if not any(p.satisfies(platform) for p in has):
            message = (
                f"{config.origin('platforms')} asks for {platform}, but the base image has no "
                f"image for it (it has: {', '.join(sorted(str(p) for p in has)) or 'none'})"
            )
            raise ConfigError(message)
        opened.append((platform, base))
    return opened


def _wanted(config: KrustConfig, offered: list[Platform]) -> list[Platform]:
    """`platforms` as platforms: `all` is every linux/* one offered, none is the host's."""
    if "all" in config.platforms:
        found = [p for p in offered if p.os == "linux"]
        return sorted(set(found), key=str) or [Platform.host()]
    return [Platform.parse(p) for p in config.platforms] or [Platform.host()]


def _refuse_own_extension(wheel: Path, targets: list[Target], where: str) -> None:
    """A project wheel built for one machine cannot go into another's image."""
    _name, _version, _build, tags = parse_wheel_filename(wheel.name)
    platforms = {t.platform for t in tags}
    if platforms == {"any"}:
        return
    for target in targets:
        if not any(p.endswith(f"_{target.python.machine}") for p in platforms):
            message = (
                f"{where} asks for {target.platform}, but the project's own wheel "
                f"{wheel.name} holds a compiled extension for {', '.join(sorted(platforms))}, "
                "and an extension cannot be cross-compiled here. Build that platform on a "
                "runner of its architecture and join the images with `hatch-krust merge "
                "DST SRC...`, or leave it out of `platforms`"
            )
            raise ConfigError(message)


def _package(
    inputs: BuildInputs,
    reporter: Reporter,
    work: Path,
    targets: list[Target],
    stack: contextlib.ExitStack,
) -> Packaged:
    from hatch_krust.formats.executable import project_wheel
    from hatch_krust.formats.layered import check_program
    from hatch_krust.formats.programs import choose_program
    from hatch_krust.python.extras import chosen_extras, wheel_requirement

    config = inputs.config
    wheel = inputs.wheel or project_wheel(inputs, work / "wheel", reporter.display_waiting)
    _refuse_own_extension(wheel, targets, config.origin("platforms"))
    # a console script, or a native program (the project's wheel's, or a dependency's:
    # each platform's environment holds that platform's build of it)
    script, entry = choose_program(
        inputs.scripts, inputs.dist_name, config, wheel, static=False, say=reporter.display_info
    )
    _point, extras = chosen_extras(config.extras, config.origin("extras"), script, entry, wheel)
    requirement = wheel_requirement(wheel, inputs.dist_name, extras)
    plans = _plans(inputs, reporter, work, targets, requirement)
    for plan in plans:
        check_program(inputs, plan, script)
    return _packaged(inputs, reporter, (script, wheel), targets, plans, stack)


def _plans(
    inputs: BuildInputs,
    reporter: Reporter,
    work: Path,
    targets: list[Target],
    requirement: str,
) -> list[LayeredPlan]:
    """Install for each target's Python (the platforms at once: uv waits on downloads and
    the disk) and plan its two layers."""
    from concurrent.futures import ThreadPoolExecutor

    from hatch_krust.layered.on_base import plan_on_base
    from hatch_krust.layered.target_install import install_for

    compilers = _compilers(targets, reporter, inputs.env)
    for target in targets:
        python = target.python
        reporter.display_waiting(
            f"Installing the project for {target.platform} (Python {python.version}, "
            f"{python.uv_platform})"
        )

    def install(target: Target) -> Path:
        arch = str(target.platform).replace("/", "-")
        root = work / f"env-{arch}"
        return install_for(target.python, str(target.platform), [requirement], root, inputs.env)

    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        venvs = list(pool.map(install, targets))
    return [
        plan_on_base(t.python, venv, inputs.dist_name, compilers[t.python.minor])
        for t, venv in zip(targets, venvs, strict=True)
    ]


def _compilers(
    targets: list[Target], reporter: Reporter, env: Mapping[str, str]
) -> dict[str, Path | None]:
    """A Python of each target minor version that runs here, to compile bytecode with."""
    from hatch_krust.layered.target_install import find_compiler

    compilers: dict[str, Path | None] = {}
    for minor in sorted({t.python.minor for t in targets}):
        compilers[minor] = find_compiler(minor, env)
        if compilers[minor] is None:
            reporter.display_info(
                f"Warning: no Python {minor} on this machine (uv, pyenv or PATH) to "
                "pre-compile bytecode with: the image works, but every start compiles its "
                "imports (about 0.2 s more for a small program). Install one with "
                f"`uv python install {minor}`"
            )
    return compilers


def _packaged(
    inputs: BuildInputs,
    reporter: Reporter,
    project: tuple[str, Path],
    targets: list[Target],
    plans: list[LayeredPlan],
    stack: contextlib.ExitStack,
) -> Packaged:
    from hatch_krust.formats.layered import _report, _script_bytes
    from hatch_krust.layered import entrypoint
    from hatch_krust.layered.on_base import base_bundle

    config = inputs.config
    script, wheel = project
    cache = inputs.cache_dir / "layered" if config.cache else wheel.parent / "layers"
    reporter.display_waiting("Building the layers")
    built = _build_all(plans, cache, inputs.epoch or 0)
    for target, layers in zip(targets, built, strict=True):
        reporter.display_info(f"{target.platform}:")
        _report(layers, reporter)
    command = entrypoint(plans[0], script)
    bundles = [
        Bundle.of(base_bundle(plan, target.python), packed=False)
        for target, plan in zip(targets, plans, strict=True)
    ]
    put = _assembler(targets, built, (command, bundles), stack)
    wheel_sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
    facts = [
        Packaged(
            format="layered",
            script=script,
            program=Program(
                kind="Console script (layered image)",
                path=plan.scripts[script],
                sha256=hashlib.sha256(program).hexdigest(),
                size=len(program),
            ),
            installs=(),
            bundle=bundle,
            tools={"format": "layered", "python": "base"},
            wheel_name=wheel.name,
            wheel_sha256=wheel_sha256,
            assemble=put,
            layers=tuple((b.name, b.layer.diff_id) for b in layers),
        )
        for plan, layers, bundle in zip(plans, built, bundles, strict=True)
        for program in (_script_bytes(plan, plan.scripts[script]),)
    ]
    # the build's own platform first, as the index has it (`_assembler`)
    first = check_layered_platforms(config)
    order = sorted(range(len(targets)), key=lambda i: not targets[i].platform.satisfies(first))
    main, *others = (facts[i] for i in order)
    rest = tuple((str(targets[i].platform), facts[i]) for i in order[1:])
    assert len(others) == len(rest)
    return replace(main, platforms=rest)


def _build_all(plans: list[LayeredPlan], cache: Path, epoch: int) -> list[tuple[BuiltLayer, ...]]:
    """Every platform's layers, each distinct layer built once (a pure-Python project's
    layer is the same for all) and the distinct ones at once (gzip releases the GIL), their
    bytecode compiled first in one run, a `.py` file the platforms share compiled once."""
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    from hatch_krust.formats.layered import _LAYER_TYPE
    from hatch_krust.layered import build_layer
    from hatch_krust.layered.layers import shared_bytecode
    from hatch_krust.leftovers import BUILD_PREFIX, in_use

    keys = [[layer.key(epoch) for layer in plan.layers] for plan in plans]
    unique = {k: layer for plan, ks in zip(plans, keys, strict=True)
              for k, layer in zip(ks, plan.layers, strict=True)}  # fmt: skip
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=BUILD_PREFIX, dir=cache) as tmp, in_use(Path(tmp)):
        layers, distinct = list(unique.values()), list(unique)
        compiled = shared_bytecode(layers, distinct, cache, Path(tmp), _LAYER_TYPE)

        def build(n: int) -> BuiltLayer:
            return build_layer(
                layers[n],
                cache,
                epoch=epoch,
                media_type=_LAYER_TYPE,
                bytecode=compiled[n],
                key=distinct[n],
            )

        with ThreadPoolExecutor(max_workers=min(4, len(unique))) as pool:
            done = dict(zip(unique, pool.map(build, range(len(layers))), strict=True))
    return [tuple(done[k] for k in ks) for ks in keys]


def _assembler(
    targets: list[Target],
    built: list[tuple[BuiltLayer, ...]],
    program: tuple[tuple[str, ...], list[Bundle]],
    stack: contextlib.ExitStack,
) -> Callable[[BaseImage | None, ImageOptions, Layout], Descriptor]:
    """The Packaged.assemble step: every platform's image (with the files for scanners of
    its own bundle), then one index of them all, the build's own platform
    (`options.platform`) first. `program` is the entrypoint and each target's bundle."""
    from hatch_krust.layered import assemble_layered
    from hatch_krust.oci.merge import merge_indexes

    command, bundles = program

    def put(_base: BaseImage | None, options: ImageOptions, layout: Layout) -> Descriptor:
        with stack:
            triples = sorted(
                zip(targets, built, bundles, strict=True),
                key=lambda triple: not triple[0].platform.satisfies(options.platform),
            )
            indexes = []
            for target, layers, bundle in triples:
                mine = replace(
                    options,
                    platform=target.platform,
                    base_digest=target.base_digest,
                    metadata_files=bundle.scanner_files(),
                )
                indexes.append(
                    assemble_layered(target.base, layers, mine, layout, entrypoint=command)
                )
            return merge_indexes(layout, indexes)

    return put
