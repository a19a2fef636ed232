"""The static format: the frozen executable (`build_executable`) in one layer at
`/app/<script>`, with a layer of package metadata for scanners below it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hatch_krust.config import DEFAULT_ORIGIN
from hatch_krust.formats.base import Bundle, Packaged, Program
from hatch_krust.formats.executable import build_executable
from hatch_krust.oci.assemble import APP_DIR, assemble
from hatch_krust.oci.digest import sha256_file

if TYPE_CHECKING:
    from pathlib import Path

    from hatch_krust.formats.executable import BinaryResult
    from hatch_krust.inputs import BuildInputs
    from hatch_krust.oci.assemble import BaseImage, ImageOptions
    from hatch_krust.oci.descriptor import Descriptor
    from hatch_krust.oci.layout import Layout
    from hatch_krust.progress import Reporter

__all__ = ["StaticFormat", "build_binary"]


# staticx unpacks the program into /tmp at every start: said once per static image build
STATIC_TMP_HINT = (
    "The static image unpacks into /tmp at start: on a read-only root give it "
    "`--tmpfs /tmp:exec` (Kubernetes: an emptyDir at /tmp); see docs/troubleshooting.md"
)


class StaticFormat:
    """The one frozen executable at `/app/<script>`."""

    name = "static"

    def package(self, inputs: BuildInputs, reporter: Reporter, work: Path) -> Packaged:
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
