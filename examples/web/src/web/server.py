"""A small HTTP service: `/healthz` for probes, `/` for a JSON greeting.

Standard library only, so it freezes with PyInstaller as it is. Configured through the
environment, as a container is:

- `PORT` (default 8080) and `HOST` (default 0.0.0.0): where to listen;
- `GREETING`: the text `/` answers with.

SIGTERM (what `docker stop` and Kubernetes send) stops it cleanly with exit status 0.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("web")
except PackageNotFoundError:  # running from a source checkout
    VERSION = "unknown"


class Handler(BaseHTTPRequestHandler):
    server_version = f"web/{VERSION}"

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._send(200, "text/plain; charset=utf-8", b"ok\n")
        elif path == "/":
            body = {"greeting": os.environ.get("GREETING", "hello"), "version": VERSION}
            self._send(200, "application/json", json.dumps(body).encode() + b"\n")
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found\n")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        print(f"{self.address_string()} {format % args}", file=sys.stderr, flush=True)


def main() -> int:
    host = os.environ.get("HOST", "0.0.0.0")
    try:
        port = int(os.environ.get("PORT", "8080"))
    except ValueError:
        print(f"web: PORT must be a number, not {os.environ['PORT']!r}", file=sys.stderr)
        return 2
    server = ThreadingHTTPServer((host, port), Handler)
    # Request threads are joined by server_close(), not left running as daemons: a thread
    # still alive when the interpreter exits is ended with pthread_exit(), which needs
    # libgcc_s.so.1 — a file a scratch image does not have (see docs/troubleshooting.md).
    server.daemon_threads = False

    def stop(_signum: int, _frame: object) -> None:
        # Not an exception raised here: it could land while the main thread starts a
        # request's thread, where socketserver catches and logs it and serves on.
        # shutdown() waits for serve_forever() to return, so it runs in its own thread.
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"web {VERSION} listening on {host}:{server.server_address[1]}", file=sys.stderr,
          flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    print("web: stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
