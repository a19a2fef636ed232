"""The image formats behind one seam: how a project's program goes onto the base.

`format_for(config)` picks the `Format` of the `format` option: `static`
(`formats.static`, the frozen executable) or `layered` (`formats.layered`, the venv in
layers). Each turns the build's inputs into a `Packaged` (`formats.base`); only this
package asks which format a build has. It knows nothing of registries or publishing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hatch_krust.formats.base import Bundle, Format, Packaged, Program

if TYPE_CHECKING:
    from hatch_krust.config import KrustConfig

__all__ = ["Bundle", "Format", "Packaged", "Program", "format_for"]


def format_for(config: KrustConfig) -> Format:
    """The format of the `format` option (validated by the configuration)."""
    from hatch_krust.formats.layered import LayeredFormat
    from hatch_krust.formats.static import StaticFormat

    return LayeredFormat() if config.format == LayeredFormat.name else StaticFormat()
