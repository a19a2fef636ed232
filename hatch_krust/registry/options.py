"""Every knob of the registry module, with its default, in one frozen value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hatch_krust.registry.retry import RetryPolicy

if TYPE_CHECKING:
    from pathlib import Path

    import httpx

    from hatch_krust.registry.credentials import Credentials

__all__ = ["MiB", "Options", "Progress"]

MiB = 1 << 20

# progress(digest, bytes_done, bytes_total): called from worker threads, often.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Options:
    """How the registry module talks to registries.

    - `insecure`: hosts (`host[:port]`) allowed plain http and unverified TLS (the caller's
      list: the build's config, the CLI's flags and `KRUST_INSECURE_REGISTRIES`); loopback
      hosts may always use plain http. Default none.
    - `jobs`: blobs transferred in parallel. The default is 4.
    - `retry`: see `RetryPolicy`; the default retries 5 times within 300 s.
    - `connect_timeout` / `read_timeout`: seconds; the read timeout is per network read,
      not per blob, so large blobs are fine. Defaults 30 and 300.
    - `document_timeout`: seconds for the whole of a small document (the ping, a
      manifest, a token, an error body), however the registry drips it. Default 60.
    - `blob_min_rate` / `blob_grace`: a blob download must end within `blob_grace`
      seconds plus its size at `blob_min_rate` bytes per second, so a registry that
      drips a byte per read timeout cannot hang a job. Defaults 16 KiB/s and 300 s.
    - `chunk_size`: blobs larger than `chunked_threshold` go up in PATCH chunks of this
      size, so a broken connection costs one chunk. Defaults 64 MiB and 256 MiB;
      a threshold of 0 disables chunked uploads.
    - `credentials`: use these for every registry instead of looking them up.
    - `env`: environment for credential lookup (default `os.environ`).
    - `epoch`: the file times of an `oci-archive:` written (SOURCE_DATE_EPOCH, read by the
      caller). Default 0.
    - `progress`: callback `(digest, done, total)` per blob; default none.
    - `transport`: an httpx transport to use instead of the network (tests).
    - `blob_record`: a JSON file recording which repositories of each registry held
      which blobs (pushed, mounted or pulled), so a push mounts a blob from there
      instead of uploading it again (see `blobrecord`). Default none: nothing is
      recorded and only `mount_from` is tried.
    """

    insecure: frozenset[str] = frozenset()
    jobs: int = 4
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    connect_timeout: float = 30.0
    read_timeout: float = 300.0
    document_timeout: float = 60.0
    blob_min_rate: float = 16 * 1024
    blob_grace: float = 300.0
    chunk_size: int = 64 * MiB
    chunked_threshold: int = 256 * MiB
    credentials: Credentials | None = None
    env: dict[str, str] | None = None
    epoch: int = 0
    progress: Progress | None = None
    transport: httpx.BaseTransport | None = None
    blob_record: Path | None = None
