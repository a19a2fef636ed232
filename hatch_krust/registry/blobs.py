"""Blobs: where their bytes come from, how they go up, how they come down verified.

Bytes always flow in 1 MiB chunks from a source to the socket (or from the socket to a
file), so memory does not grow with blob size. An upload is one sequence (HEAD, POST,
PUT or PATCHes) retried as a whole, because a half-sent PUT cannot be resumed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import time
from typing import TYPE_CHECKING, BinaryIO, Protocol

from hatch_krust.errors import AuthError, ImageError, RegistryError, TransportFailure
from hatch_krust.registry.auth import pull_scope, push_scope
from hatch_krust.registry.client import (
    raise_for_status,
    transport_failure,
)
from hatch_krust.registry.redact import redact_url
from hatch_krust.registry.retry import retrying

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import httpx

    from hatch_krust.oci.descriptor import Descriptor
    from hatch_krust.oci.layout import Layout
    from hatch_krust.registry.client import Registry
    from hatch_krust.registry.options import Progress

__all__ = [
    "BlobSource",
    "LayoutBlob",
    "RemoteBlob",
    "VerifyingReader",
    "blob_exists",
    "download_blob",
    "upload_blob",
]

log = logging.getLogger("hatch_krust.registry")

CHUNK = 1 << 20


class BlobSource(Protocol):
    """Bytes of one blob, from any offset (so a chunked upload can resume)."""

    def open(self, offset: int = 0) -> contextlib.AbstractContextManager[Iterator[bytes]]: ...


class LayoutBlob:
    """A blob in an OCI layout directory."""

    def __init__(self, layout: Layout, digest: str) -> None:
        self.layout, self.digest = layout, digest

    @contextlib.contextmanager
    def open(self, offset: int = 0) -> Iterator[Iterator[bytes]]:
        with self.layout.open_blob(self.digest) as f:
            f.seek(offset)
            yield iter(lambda: f.read(CHUNK), b"")


class RemoteBlob:
    """A blob in a registry repository, streamed (with `Range` when resuming)."""

    def __init__(self, registry: Registry, repository: str, descriptor: Descriptor) -> None:
        self.registry, self.repository, self.descriptor = registry, repository, descriptor

    @contextlib.contextmanager
    def open(self, offset: int = 0) -> Iterator[Iterator[bytes]]:
        response = _get_blob(self.registry, self.repository, self.descriptor, offset)
        try:
            yield _iter_response(response, self.registry.host,
                                 _deadline(self.registry, self.descriptor.size - offset))
        finally:
            response.close()


def _get_blob(registry: Registry, repository: str, descriptor: Descriptor,
              offset: int) -> httpx.Response:
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    response = registry.request(
        "GET", f"/v2/{repository}/blobs/{descriptor.digest}",
        scopes=(pull_scope(repository),), headers=headers, stream=True,
    )
    try:
        raise_for_status(response, f"fetching blob {descriptor.digest} from {repository}",
                         (206,) if offset else (200,))
    except BaseException:
        response.close()
        raise
    return response


def _deadline(registry: Registry, size: int) -> float:
    """When a download of `size` bytes must end: a grace time plus the minimum rate."""
    options = registry.options
    return time.monotonic() + options.blob_grace + max(size, 0) / options.blob_min_rate


def _iter_response(response: httpx.Response, host: str, deadline: float) -> Iterator[bytes]:
    import httpx

    try:
        if response.is_stream_consumed:  # already read (in-memory transports)
            yield response.content
            return
        # raw bytes: a Content-Encoding must not change what the digest is checked against
        for chunk in response.iter_raw():  # as read: a 1 MiB chunker would hide a drip
            if time.monotonic() > deadline:
                raise _too_slow(response, host)
            yield chunk
    except httpx.TransportError as exc:
        raise transport_failure(host, "GET", str(response.request.url), exc) from exc


def _too_slow(response: httpx.Response, host: str) -> TransportFailure:
    # Not retried: a registry this slow stays slow for the retry policy's minutes.
    return TransportFailure(
        f"Registry {host} sends {redact_url(response.request.url)} slower than the minimum "
        "transfer rate; giving up (a stalled or overloaded registry; try again later)",
        temporary=False,
    )


class VerifyingReader(io.RawIOBase):
    """A file-like view of chunks that fails at EOF unless size and digest match."""

    def __init__(self, chunks: Iterator[bytes], descriptor: Descriptor, where: str,
                 progress: Callable[[int], None] | None = None) -> None:
        super().__init__()
        self._chunks, self._descriptor, self._where = chunks, descriptor, where
        algorithm = descriptor.digest.split(":", 1)[0]
        self._hash = hashlib.new(algorithm)
        self._buffer = b""
        self._size = 0
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._buffer:
            self._buffer = next(self._chunks, b"")
            if not self._buffer:
                self._check()
                return 0
            self._take(self._buffer)
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def _take(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._descriptor.size:
            msg = (
                f"Blob {self._descriptor.digest} from {self._where} is larger than its "
                f"declared size {self._descriptor.size}"
            )
            raise ImageError(
                msg
            )
        self._hash.update(chunk)
        if self._progress is not None and self._size < self._descriptor.size:
            self._progress(self._size)  # complete is reported once verified (_check)

    def _check(self) -> None:
        digest = f"{self._hash.name}:{self._hash.hexdigest()}"
        if self._size != self._descriptor.size or digest != self._descriptor.digest:
            msg = (
                f"Blob {self._descriptor.digest} from {self._where} does not match its "
                f"descriptor (got {self._size} bytes, digest {digest})"
            )
            raise ImageError(
                msg
            )
        if self._progress is not None:
            self._progress(self._size)


def download_blob(registry: Registry, repository: str, descriptor: Descriptor,
                  write: Callable[[BinaryIO], None], progress: Progress | None = None) -> None:
    """Stream a blob into `write(reader)`; the reader raises unless size+digest match.

    The whole download is retried on a broken connection; `write` must start afresh
    each time (an atomic layout write does).
    """
    where = f"{registry.host}/{repository}"

    def attempt() -> None:
        report = None if progress is None else (
            lambda done: progress(descriptor.digest, done, descriptor.size))
        with RemoteBlob(registry, repository, descriptor).open() as chunks:
            write(VerifyingReader(chunks, descriptor, where, report))  # type: ignore[arg-type]

    retry_sequence(registry, attempt, f"downloading blob {descriptor.digest}")


def blob_exists(registry: Registry, repository: str, digest: str, scope: str) -> bool:
    """HEAD the blob: 200 means present, 404 absent, anything else is an error."""
    response = registry.request("HEAD", f"/v2/{repository}/blobs/{digest}", scopes=(scope,))
    if response.status_code == 404:
        return False
    raise_for_status(response, f"checking blob {digest} in {repository}")
    return True


def retry_sequence(registry: Registry, step: Callable[[], None], doing: str) -> None:
    """Run `step` again from the start after a transient failure, within the policy."""
    retrying(step, registry.options.retry, doing, registry.closed.wait)


def upload_blob(
    registry: Registry,
    repository: str,
    descriptor: Descriptor,
    source: BlobSource,
    *,
    mount_from: str | None = None,
    progress: Progress | None = None,
) -> str:
    """Make sure the repository has the blob; returns "exists", "mounted" or "uploaded"."""
    from hatch_krust.registry.upload import Upload

    outcome: list[str] = []

    def attempt() -> None:
        outcome[:] = [Upload(registry, repository, descriptor, source, mount_from=mount_from,
                             progress=progress).run()]

    try:
        retry_sequence(registry, attempt, f"uploading blob {descriptor.digest}")
    except AuthError:
        raise
    except RegistryError as exc:
        where = f"{registry.host}/{repository}"
        message = f"Uploading blob {descriptor.digest} to {where} failed: {exc}"
        raise RegistryError(message, exc.status) from exc
    return outcome[0]


def scopes_for(repository: str, mount_from: str | None) -> tuple[str, ...]:
    """Push scope first (some registries read only the first), then pull on the source."""
    if mount_from and mount_from != repository:
        return (push_scope(repository), pull_scope(mount_from))
    return (push_scope(repository),)
