"""The static format: the frozen executable (`build_executable`) in one layer at
`/app/<script>`, with a layer of package metadata for scanners below it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hatch_krust.config import DEFAULT_ORIGIN
from hatch_krust.errors import ConfigError
from hatch_krust.formats.base import Bundle, Packaged, Program
from hatch_krust.formats.executable import build_executable
from hatch_krust.oci.assemble import APP_DIR, assemble
from hatch_krust.oci.digest import sha256_file
from hatch_krust.oci.platform import Platform

if TYPE_CHECKING:
    from pathlib import Path

    from hatch_krust.config import KrustConfig
    from hatch_krust.formats.base import BaseSource
    from hatch_krust.formats.executable import BinaryResult
    from hatch_krust.inputs import BuildInputs
    from hatch_krust.oci.assemble import BaseImage, ImageOptions
    from hatch_krust.oci.descriptor import Descriptor
    from hatch_krust.oci.layout import Layout
    from hatch_krust.progress import Reporter

__all__ = ["StaticFormat", "build_binary", "check_static_platforms"]


# staticx unpacks the program into /tmp at every start: said once per static image build
STATIC_TMP_HINT = (
    "The static image unpacks into /tmp at start: on a read-only root give it "
    "`--tmpfs /tmp:exec` (Kubernetes: an emptyDir at /tmp); see docs/troubleshooting.md"
)


class StaticFormat:
    """The one frozen executable at `/app/<script>`."""

    name = "static"

    def first_platform(self, config: KrustConfig) -> Platform:
        return check_static_platforms(config)

    def package(
        self, inputs: BuildInputs, reporter: Reporter, work: Path, bases: BaseSource
    ) -> Packaged:
        """The frozen executable. `bases` is not read (see `Format`): a static executable
        needs nothing of the base and runs on one platform, so it goes onto the base the
        build opened for that platform, which `assemble` is given."""
        del bases
        binary = build_executable(inputs, reporter, work / "out")
        reporter.display_info(STATIC_TMP_HINT)
        path = binary.path

        def put(base: BaseImage | None, options: ImageOptions, layout: Layout) -> Descriptor:
            return assemble(base, path, options, layout)

        program = Program(
            kind="Static executable",
            path=f"{APP_DIR}/{binary.script}",
            sha256=sha256_file(path).removeprefix("sha256:"),
            size=path.stat().st_size,
        )
        return Packaged(
            format=self.name,
            script=binary.script,
            program=program,
            installs=(path,),
            bundle=Bundle.of(binary.bundle, packed=True),
            tools=binary.tools,
            wheel_name=binary.wheel_name,
            wheel_sha256=binary.wheel_file_sha256,
            assemble=put,
        )


def build_binary(inputs: BuildInputs, reporter: Reporter) -> BinaryResult:
    """The `binary` version: the static executable whatever the `format` option says
    (which applies to the image only: said once), into `inputs.out_dir`."""
    config = inputs.config
    explicit = config.origin("format") != DEFAULT_ORIGIN  # the default is the image's
    if explicit and config.format != StaticFormat.name:
        reporter.display_info(
            f"{config.origin('format')} asks for the {config.format} format: "
            "it applies to the image only; `krust:binary` makes the static executable"
        )
    return build_executable(inputs, reporter, inputs.out_dir)


def check_static_platforms(config: KrustConfig) -> Platform:
    """PyInstaller cannot cross-build: only the host's platform can be frozen here, and
    `python` is an interpreter to freeze with (`base`/`bundled` are the layered format's)."""
    host = Platform.host()
    if config.python in ("base", "bundled"):
        message = (
            f'{config.origin("python")} is "{config.python}", which only the layered format '
            'reads; set `format = "layered"`, or give the interpreter (path or command) to '
            "freeze with"
        )
        raise ConfigError(message)
    where = config.origin("platforms")
    for text in config.platforms:
        if text == "all":  # ko's spelling: every platform of the base
            message = (
                f"{where} asks for `all` platforms, but this host can build only {host} "
                "(PyInstaller does not cross-build); leave `platforms` out (or set "
                f'["{host}"]), build each other platform on a machine of that architecture '
                "and join the images with `hatch-krust merge DST SRC...`"
            )
            raise ConfigError(message)
        wanted = Platform.parse(text)
        if not host.satisfies(wanted):
            message = (
                f"{where} asks for {wanted}, but this host can only build {host}: "
                f"PyInstaller does not cross-build. Build on a {wanted} machine (for example "
                "a CI runner of that architecture) and join the per-platform images with "
                "`hatch-krust merge DST SRC...`."
            )
            raise ConfigError(message)
    return host
