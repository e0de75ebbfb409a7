"""The ``web`` process as deployed: a real gunicorn with gunicorn.conf.py.

What only the server shows: answers to request lines too long for the app's
own limit, and what the access log writes. Nothing here waits a fixed time:
each wait polls for what it needs, with a generous limit.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parent.parent
PATIENCE = 60.0  # seconds; generous for a loaded two-core machine


@dataclass
class Web:
    host: str
    port: int
    access_log: Path

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def raw(self, request_line: str) -> tuple[int, dict[str, str], bytes]:
        """Send one request line (and a Host header); the status, headers, body."""
        with socket.create_connection((self.host, self.port), timeout=PATIENCE) as sock:
            sock.sendall(
                f"{request_line}\r\nHost: {self.host}:{self.port}\r\n"
                "Connection: close\r\n\r\n".encode("latin-1")
            )
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(status_line.split()[1]), headers, body

    def wait_for_log(self, needle: str) -> str:
        """The first access-log line holding ``needle``, once gunicorn wrote it."""
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            for line in self.access_log.read_text(errors="replace").splitlines():
                if needle in line:
                    return line
            time.sleep(0.05)
        raise AssertionError(f"no access-log line with {needle!r}: {self.access_log.read_text()}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def web(app: Flask, tmp_path: Path) -> Iterator[Web]:
    port = _free_port()
    env = {
        **os.environ,
        "APP_ENV": "test",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_PATH": app.instance_path,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
    }
    access_log = tmp_path / "access.log"
    errors = tmp_path / "error.log"
    with access_log.open("w") as out, errors.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,  # accesslog = "-"
            stderr=err,
        )
    web = Web("127.0.0.1", port, access_log)
    try:
        deadline = time.monotonic() + PATIENCE
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not start: {errors.read_text()}")
            try:
                with urllib.request.urlopen(f"{web.base}/healthz", timeout=2) as ok:
                    if ok.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        yield web
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_6_kb_request_line_gets_the_json_414(web: Web) -> None:
    status, headers, body = web.raw(f"GET /api/me?q={'x' * 6000} HTTP/1.1")
    assert status == 414
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "uri_too_long"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"].startswith("default-src 'self'")
    assert headers["cache-control"] == "no-store"
    # A line past gunicorn's own maximum (8190) never reaches the app.
    status, _, _ = web.raw(f"GET /api/me?q={'x' * 9000} HTTP/1.1")
    assert status in (400, 414)
