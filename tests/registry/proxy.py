"""A TCP proxy in front of the real registry that resets one connection mid-transfer."""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading

from tests.infra.registry import free_port


class ResettingProxy:
    """Forwards 127.0.0.1:port to `upstream`; the first connection that moves more than
    `after` bytes in `direction` ("up": client→registry, "down": registry→client) is
    reset (RST) in the middle of the transfer. Later connections pass untouched."""

    def __init__(self, upstream: str, *, after: int, direction: str) -> None:
        self.upstream_host, port = upstream.rsplit(":", 1)
        self.upstream_port = int(port)
        self.after, self.direction = after, direction
        self.resets = 0
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._lock = threading.Lock()
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stopped = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection((self.upstream_host, self.upstream_port))
            threading.Thread(target=self._relay, args=(client, upstream), daemon=True).start()

    def _should_reset(self, moved: int, direction: str) -> bool:
        with self._lock:
            if self.resets == 0 and direction == self.direction and moved > self.after:
                self.resets += 1
                return True
            return False

    def _relay(self, client: socket.socket, upstream: socket.socket) -> None:
        """Both directions in one thread, so a reset closes sockets nobody else is reading."""
        peers = {client: (upstream, "up"), upstream: (client, "down")}
        moved = {"up": 0, "down": 0}
        try:
            while True:
                readable, _, _ = select.select(list(peers), [], [], 30)
                if not readable:
                    return
                for source in readable:
                    target, direction = peers[source]
                    chunk = source.recv(65536)
                    if not chunk:
                        return
                    moved[direction] += len(chunk)
                    if self._should_reset(moved[direction], direction):
                        for sock in (client, upstream):
                            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                            struct.pack("ii", 1, 0))
                        return
                    target.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.close()
