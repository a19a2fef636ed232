"""One attempt at getting a blob into a repository: HEAD, mount or POST, then PUT or PATCHes.

`Location` headers are resolved against the URL of the request that returned them and
used as given (their query may carry session state such as `_state`); `digest=` is
appended, never rebuilt. Chunked uploads recover a failed PATCH by asking the session
how far it got (`GET <location>` → `Range: 0-<end>`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import TYPE_CHECKING
from urllib.parse import quote, urljoin

from hatch_krust.errors import RegistryError
from hatch_krust.registry.blobs import blob_exists, scopes_for
from hatch_krust.registry.client import (
    HTTPError,
    TransportFailure,
    is_transient,
    raise_for_status,
)
from hatch_krust.registry.redact import redact_url

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import httpx

    from hatch_krust.oci.descriptor import Descriptor
    from hatch_krust.registry.blobs import BlobSource
    from hatch_krust.registry.client import Registry
    from hatch_krust.registry.options import Progress

__all__ = ["MAX_MOUNTS", "Upload", "mount_candidates", "with_digest"]

log = logging.getLogger("hatch_krust.registry")

_OCTETS = "application/octet-stream"
MAX_MOUNTS = 3  # mount attempts per blob: the caller's source, then the record's


def mount_candidates(registry: Registry, repository: str, digest: str,
                     mount_from: str | None) -> tuple[str, ...]:
    """Repositories of this registry to mount `digest` from: `mount_from`, then where the
    blob record last saw it (never another registry: the record is per host)."""
    found = [mount_from] if mount_from else []
    found += registry.record.candidates(digest, exclude=repository)
    return tuple(r for r in dict.fromkeys(found) if r != repository)[:MAX_MOUNTS]


def with_digest(location: str, digest: str) -> str:
    """`location` with `digest=` added, keeping its existing query exactly."""
    base, _, _fragment = location.partition("#")
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}digest={quote(digest, safe=':')}"


def next_location(response: httpx.Response, current: str | None = None) -> str:
    """The session URL a response points to, resolved against its request URL."""
    location: str | None = response.headers.get("Location")
    if not location:
        if current is not None:
            return current
        message = (
            f"Registry answered {response.request.method} {response.status_code} "
            "without a Location header"
        )
        raise RegistryError(message)
    base = str(response.request.url)
    target = urljoin(base, location)
    if base.startswith("https:") and not target.startswith("https:"):
        message = (
            f"Registry answered {response.request.method} with an upload Location that is not "
            f"https ({redact_url(target)}); refused"
        )
        raise RegistryError(message)
    return target


class Upload:
    """A single upload attempt; `run()` returns "exists", "mounted" or "uploaded"."""

    def __init__(
        self,
        registry: Registry,
        repository: str,
        descriptor: Descriptor,
        source: BlobSource,
        *,
        mount_from: str | None,
        progress: Progress | None,
    ) -> None:
        self.registry, self.repository = registry, repository
        self.descriptor, self.source = descriptor, source
        self.mounts = mount_candidates(registry, repository, descriptor.digest, mount_from)
        self.progress = progress
        self.scopes = scopes_for(repository, None)
        self.done = 0

    def run(self) -> str:
        digest = self.descriptor.digest
        if blob_exists(self.registry, self.repository, digest, self.scopes[0]):
            return self._done("exists")
        location = self._start()
        if location is None:
            return self._done("mounted")
        try:
            threshold = self.registry.options.chunked_threshold
            if threshold and self.descriptor.size > threshold:
                self._chunked(location)
            else:
                self._monolithic(location)
        except BaseException:
            self._cancel(location)
            raise
        return self._done("uploaded")

    def _done(self, outcome: str) -> str:
        """The repository now holds the blob: report it complete and record where it is."""
        self._report(self.descriptor.size, final=True)
        self.registry.record.seen(self.descriptor.digest, self.repository)
        return outcome

    # -- session -------------------------------------------------------------------------

    def _start(self) -> str | None:
        """POST a session, trying mounts first; None when a mount succeeded.

        A refused mount (202) opens an ordinary session: the last one is used for the
        upload, earlier ones are cancelled before the next candidate is tried.
        """
        path = f"/v2/{self.repository}/blobs/uploads/"
        for number, source in enumerate(self.mounts):
            location = self._mount(path, source)
            if location is None:
                return None
            if location:
                if number == len(self.mounts) - 1:
                    return location
                self._cancel(location)
        self.scopes = scopes_for(self.repository, None)
        response = self.registry.request("POST", path, scopes=self.scopes)
        with contextlib.closing(response):
            raise_for_status(response, f"starting the upload of blob {self.descriptor.digest}",
                             (202,))
            return next_location(response)

    def _mount(self, path: str, source: str) -> str | None:
        """One mount attempt: None = mounted, a session URL = refused with a session
        (202), "" = refused without one. A refusal marks the record's entry stale."""
        digest = self.descriptor.digest
        self.scopes = scopes_for(self.repository, source)
        query = f"?mount={quote(digest, safe=':')}&from={quote(source, safe='/')}"
        try:
            response = self.registry.request("POST", path + query, scopes=self.scopes)
        except (TransportFailure, HTTPError):
            raise
        except RegistryError as exc:  # e.g. no pull right on the source: plain upload
            log.info("mount from %s refused (%s); uploading", source, exc)
            self.registry.record.forget(digest, source)
            return ""
        with contextlib.closing(response):
            if response.status_code == 201:
                return None
            self.registry.record.forget(digest, source)
            if response.status_code == 202:
                log.info("mount of %s from %s refused (202); uploading", digest, source)
                return next_location(response)
        log.info("mount from %s answered %s; uploading", source, response.status_code)
        return ""

    def _cancel(self, location: str) -> None:
        """Tell the registry to drop the session; failures here do not matter."""
        with contextlib.suppress(RegistryError):
            self.registry.request("DELETE", location, scopes=self.scopes, retry=False).close()

    # -- bodies --------------------------------------------------------------------------

    def _report(self, done: int, *, final: bool = False) -> None:
        """Progress; the blob is reported complete only once the registry accepted it."""
        self.done = done
        size = self.descriptor.size
        if self.progress is not None and (final or done < size):
            self.progress(self.descriptor.digest, done, size)

    def _body(self, start: int, length: int) -> Callable[[], Iterator[bytes]]:
        def chunks() -> Iterator[bytes]:
            remaining = length
            self._report(start)
            with self.source.open(start) as source:
                for chunk in source:
                    piece = chunk[:remaining]
                    remaining -= len(piece)
                    self._report(self.done + len(piece))
                    yield piece
                    if remaining <= 0:
                        return
            if remaining:
                message = f"Blob {self.descriptor.digest} is shorter than its descriptor says"
                raise RegistryError(message)

        return chunks

    # -- monolithic ----------------------------------------------------------------------

    def _monolithic(self, location: str) -> None:
        size = self.descriptor.size
        response = self.registry.request(
            "PUT",
            with_digest(location, self.descriptor.digest),
            scopes=self.scopes,
            headers={"Content-Type": _OCTETS, "Content-Length": str(size)},
            content=self._body(0, size),
            retry=False,
        )
        self._finished(response)

    def _finished(self, response: httpx.Response) -> None:
        with contextlib.closing(response):
            raise_for_status(response, f"uploading blob {self.descriptor.digest}", (201, 200))
        header = response.headers.get("Docker-Content-Digest")
        if header and header != self.descriptor.digest:
            message = (
                f"Registry {self.registry.host} stored blob {self.descriptor.digest} "
                f"under digest {header}"
            )
            raise RegistryError(message)

    # -- chunked -------------------------------------------------------------------------

    def _chunked(self, location: str) -> None:
        size, offset, recoveries = self.descriptor.size, 0, 0
        policy = self.registry.options.retry
        while offset < size:
            length = min(self.registry.options.chunk_size, size - offset)
            try:
                location = self._patch(location, offset, length)
                offset += length
            except (TransportFailure, HTTPError) as exc:
                temporary = is_transient(exc)
                recoveries += 1
                if not temporary or recoveries >= policy.attempts:
                    raise
                time.sleep(policy.delay(recoveries))
                offset, location = self._session_offset(location)
                log.info("resuming blob %s at byte %d", self.descriptor.digest, offset)
        response = self.registry.request(
            "PUT",
            with_digest(location, self.descriptor.digest),
            scopes=self.scopes,
            headers={"Content-Type": _OCTETS, "Content-Length": "0"},
            content=b"",
            retry=False,
        )
        self._finished(response)

    def _patch(self, location: str, offset: int, length: int) -> str:
        response = self.registry.request(
            "PATCH",
            location,
            scopes=self.scopes,
            headers={
                "Content-Type": _OCTETS,
                "Content-Length": str(length),
                "Content-Range": f"{offset}-{offset + length - 1}",
            },
            content=self._body(offset, length),
            retry=False,
        )
        with contextlib.closing(response):
            raise_for_status(response, f"uploading a chunk of blob {self.descriptor.digest}",
                             (202, 204))
            return next_location(response, location)

    def _session_offset(self, location: str) -> tuple[int, str]:
        """How many bytes the session holds (`GET <location>` → 204, `Range: 0-<end>`)."""
        response = self.registry.request("GET", location, scopes=self.scopes)
        with contextlib.closing(response):
            raise_for_status(response, "checking the upload session", (204, 200))
            end = response.headers.get("Range", "").partition("-")[2]
            offset = int(end) + 1 if end.isdigit() else 0
            if end == "0":
                offset = 0  # "0-0" is both "empty" and "one byte" in docker/distribution
            return offset, next_location(response, location)
