"""The ``web`` process as deployed: a real gunicorn with gunicorn.conf.py.

What only the server shows: answers to request lines too long for the app's
own limit, and what the access log writes. Nothing here waits a fixed time:
each wait polls for what it needs, with a generous limit.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask

from tests.conftest import TEST_SECRET, make_app

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


# -- calendar-feed tokens stay out of the logs ------------------------------------


def load_conf() -> dict[str, Any]:
    """gunicorn.conf.py's settings, read as gunicorn reads them."""
    found: dict[str, Any] = {}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), found)  # noqa: S102
    return found


def test_the_access_log_format_masks_calendar_tokens(tmp_path: Path) -> None:
    from gunicorn.config import Config

    from ipt_groups.logmask import MaskingLogger

    conf = load_conf()
    assert conf["logger_class"] == "ipt_groups.logmask.MaskingLogger"
    cfg = Config()
    log_file = tmp_path / "access.log"
    cfg.set("accesslog", str(log_file))
    cfg.set("access_log_format", conf["access_log_format"])
    logger = MaskingLogger(cfg)
    token = secrets.token_urlsafe(32)
    path = f"/api/calendar/{token}.ics"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": path,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.5",
        "HTTP_REFERER": f"https://clinic.example{path}",
    }
    resp = SimpleNamespace(status="200 OK", sent=512, headers=[("Content-Type", "text/calendar")])
    logger.access(resp, [("Referer", environ["HTTP_REFERER"])], environ, timedelta(seconds=0))
    for handler in logger.access_log.handlers:
        handler.flush()
    line = log_file.read_text()
    assert token not in line
    assert f'"GET /api/calendar/…{token[-4:]}.ics" 200 512' in line
    # Every atom is masked, so a format that logs the request line or referer is safe too.
    atoms = logger.atoms(resp, [("Referer", environ["HTTP_REFERER"])], environ, timedelta(0))
    assert not [k for k, v in atoms.items() if isinstance(v, str) and token in v]


def test_a_real_gunicorn_access_log_holds_no_calendar_token(web: Web) -> None:
    token = secrets.token_urlsafe(32)
    status, _, _ = web.raw(f"GET /api/calendar/{token}.ics HTTP/1.1")
    assert status == 404  # no such feed; the path is logged all the same
    line = web.wait_for_log(f"/api/calendar/…{token[-4:]}.ics")
    assert '"GET /api/calendar/…' in line and " 404 " in line
    assert token not in web.access_log.read_text()


def test_an_app_error_on_a_calendar_path_logs_no_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from ipt_groups.services import calendar

    app = make_app(tmp_path)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as outside the test suite: Flask logs it

    def broken(token: str) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(calendar, "resolve_feed", broken)
    token = secrets.token_urlsafe(32)
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get(f"/api/calendar/{token}.ics")
    assert response.status_code == 500
    assert "Exception on /api/calendar/…" in caplog.text  # Flask's own line, masked
    assert token not in caplog.text
    # Any record from any logger, however its message is built.
    logging.getLogger("anything").warning("fetched %s", f"/api/calendar/{token}.ics")
    assert token not in caplog.text
