"""One repository of one registry, as `attest/` and the CLI need it: manifests,
referrers, artifacts and lazily opened, verified blobs (private; use `registry.api`)."""

from __future__ import annotations

import contextlib
import io
from typing import TYPE_CHECKING, BinaryIO

from hatch_krust.errors import ImageError
from hatch_krust.registry.blobs import CHUNK, RemoteBlob, VerifyingReader
from hatch_krust.registry.client import Registry
from hatch_krust.registry.manifests import Manifest, get_manifest, select_platform
from hatch_krust.registry.referrers import (
    ReferrersResult,
    artifact_manifest,
    list_referrers,
    push_referrer,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from hatch_krust.oci.descriptor import Descriptor
    from hatch_krust.oci.reference import Reference
    from hatch_krust.registry.options import Options

__all__ = ["Repository"]


class Repository:
    """A connection to `reference`'s repository; a context manager that closes it."""

    def __init__(self, reference: Reference, options: Options | None = None) -> None:
        self.reference = reference
        self.name = reference.repository
        self._registry = Registry(reference.api_host, options, reference.repository)
        self.host = self._registry.host

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._registry.close()

    @property
    def where(self) -> str:
        return f"{self.host}/{self.name}"

    def manifest(self, identifier: str) -> Manifest:
        """The manifest or index a tag or digest names, verified against its digest."""
        return get_manifest(self._registry, self.name, identifier)

    def platform_manifest(self, index: Manifest, platform: str) -> Manifest:
        """The image manifest `index` lists for `platform`."""
        return self.manifest(select_platform(index, platform, str(self.reference)).digest)

    def referrers(self, subject: str, artifact_type: str | None = None) -> list[Descriptor]:
        """The artifacts whose subject is `subject`: the referrers API, else the fallback tag."""
        return list_referrers(self._registry, self.name, subject, artifact_type)

    def attach(
        self,
        subject: Descriptor,
        artifact_type: str,
        content: bytes,
        *,
        annotations: Mapping[str, str] | None = None,
        layer_annotations: Mapping[str, str] | None = None,
    ) -> ReferrersResult:
        """Push `content` as an OCI 1.1 artifact about `subject` and make it findable."""
        artifact = artifact_manifest(
            subject, artifact_type, content,
            annotations=annotations, layer_annotations=layer_annotations,
        )
        return push_referrer(self._registry, self.name, artifact)

    @contextlib.contextmanager
    def open_blob(self, descriptor: Descriptor) -> Iterator[BinaryIO]:
        """A buffered file over the blob, fetched as it is read; reading past the end
        raises ImageError unless the size and digest matched."""
        with RemoteBlob(self._registry, self.name, descriptor).open() as chunks:
            reader = VerifyingReader(chunks, descriptor, self.where)
            yield io.BufferedReader(reader, CHUNK)

    def read_blob(self, descriptor: Descriptor, limit: int) -> bytes:
        """The whole blob, verified; refused when its descriptor says it exceeds `limit`."""
        if descriptor.size > limit:
            message = (
                f"Blob {descriptor.digest} in {self.where} is larger than "
                f"{limit >> 20} MiB; refused"
            )
            raise ImageError(message)
        with self.open_blob(descriptor) as stream:
            return stream.read()
