"""What the HTTP fakes (``fake_push``, ``fake_sms``) share: a threaded server on
127.0.0.1 that keeps track of its open connections, so ``stop()`` can close the
keep-alive ones a client still holds, and the start / stop / ``with`` life cycle."""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any, Self


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[TrackedHandler]) -> None:
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn); skip it.
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = port

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # clients dropping keep-alive connections (and stop() closing them) is normal

    def close_connections(self) -> None:
        with self.connections_lock:
            conns = list(self.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class TrackedHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, silent, and known to its server while connected."""

    protocol_version = "HTTP/1.1"
    server: LocalServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        return


class FakeServer:
    """Start / stop / ``with`` / ``origin`` for a fake serving ``_make_server()``
    on ``host``:``port`` (0: any free port, which ``port`` then holds)."""

    thread_name = "fake"
    host: str
    port: int
    _server: LocalServer | None = None
    _thread: threading.Thread | None = None
    _origin: str | None = None

    def _make_server(self) -> LocalServer:
        raise NotImplementedError

    def start(self) -> Self:
        if self._server is not None:
            return self
        server = self._make_server()
        host, port = server.server_address[:2]
        self.port = port
        self._origin = f"http://{host}:{port}"
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.thread_name}-{port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        if self._origin is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._origin
