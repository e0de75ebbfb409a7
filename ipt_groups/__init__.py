"""ipt_groups: group Interpersonal Psychotherapy programmes, self-hosted."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from flask import Flask, Response, request, send_from_directory
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from ipt_groups import cli, frontend, idempotency, logmask, models, pool, ratelimit, security  # noqa: F401  (models: register every table)
from ipt_groups.api import register_blueprints
from ipt_groups.config import ENV_VARS, MIGRATIONS_DIR, load_settings
from ipt_groups.errors import register_error_handlers
from ipt_groups.extensions import api as rest_api
from ipt_groups.extensions import db, login_manager
from ipt_groups.health import bp as health_bp
from ipt_groups.services import clinic, outcome_cache

__all__ = ["configure_logging", "create_app", "login_manager"]


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLite needs foreign keys switched on per connection; WAL lets the clock
    # write while web reads.
    if type(dbapi_connection).__module__ == "sqlite3":
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


@event.listens_for(Engine, "savepoint")
def _sqlite_savepoint_inside_a_transaction(conn: Any, _name: str | None) -> None:
    # Python's sqlite3 opens a transaction only before INSERT/UPDATE/DELETE. A
    # SAVEPOINT (``session.begin_nested()``) issued before the request's first
    # write therefore *is* the transaction, and releasing it commits: a note was
    # kept without its audit entry, an attendance key without its marks, when the
    # rest of the request failed (tests/test_faults.py). Begin the real
    # transaction first, so the savepoint nests inside it as on PostgreSQL.
    raw = conn.connection.dbapi_connection
    if type(raw).__module__ == "sqlite3" and not raw.in_transaction:
        raw.execute("BEGIN")


def _init_migrations(app: Flask) -> None:
    """Flask-Migrate for ``flask db ...``, where something can use it.

    It imports Alembic, Mako and Pygments (memory in every process: docs/benchmarks.md,
    "Programme scale", what a worker imports), and a web
    worker never migrates (the platform's release phase does). So it is set up
    under a command line (``flask --app wsgi db upgrade``: click's context is
    active and the flask CLI has loaded flask_migrate for its ``db`` group) or
    when the caller has imported flask_migrate itself (the tests), not under
    gunicorn.
    """
    if "flask_migrate" not in sys.modules and click.get_current_context(silent=True) is None:
        return
    from flask_migrate import Migrate

    Migrate(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True, compare_type=True)


def configure_logging(level: str) -> None:
    """The process's log format and level (``LOG_LEVEL``), to stderr.

    Called by the entry points (``wsgi.py``: gunicorn, ``flask --app wsgi ...``
    and so the clock), not by ``create_app``: building an app configures no
    process-wide logging, so the tests and embedding code keep their own.
    """
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides the environment (tests pass APP_ENV etc.).

    Keys in ``config`` that are environment variable names (``APP_ENV``,
    ``DATABASE_URL``...) are parsed like the environment; other keys are set on
    ``app.config`` as they are.
    """
    overrides = dict(config or {})
    instance_path = overrides.pop("INSTANCE_PATH", None) or os.environ.get("INSTANCE_PATH") or None
    app = Flask(__name__, instance_path=instance_path, static_folder=None)
    # Overrides named like environment variables are parsed like the environment;
    # anything else goes onto app.config as given.
    env = {**os.environ, **{k: str(overrides.pop(k)) for k in ENV_VARS if k in overrides}}
    settings = load_settings(env, Path(app.instance_path))
    app.config.update(settings.flask_config())
    app.config.update(overrides)

    # Calendar-feed tokens are in URL paths; no log line may carry one.
    logmask.install()
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.proxy_hops,
            x_proto=settings.proxy_hops,
            x_host=settings.proxy_hops,
        )

    db.init_app(app)
    outcome_cache.register()  # its Session listeners keep cached tallies right
    clinic.register()  # its Session listeners drop cached clinic settings on writes
    with app.app_context():
        pool.ping_when_idle(db.engine)
    _init_migrations(app)
    _init_api(app)
    security.init_app(app)
    ratelimit.init_app(app)  # after the gate, before Idempotency-Key
    idempotency.init_app(app)
    register_error_handlers(app)
    _register_frontend(app)
    cli.register(app)
    return app


def _init_api(app: Flask) -> None:
    rest_api.init_app(
        app,
        spec_kwargs={
            "info": {"description": "Group Interpersonal Psychotherapy programmes: the REST API."},
            "security": [{"session": [], "csrf": []}],
        },
    )
    rest_api.spec.components.security_scheme(
        "session", {"type": "apiKey", "in": "cookie", "name": app.config["SESSION_COOKIE_NAME"]}
    )
    rest_api.spec.components.security_scheme(
        "csrf",
        {
            "type": "apiKey",
            "in": "header",
            "name": security.CSRF_HEADER,
            "description": "From GET /api/auth/csrf or the login response; required on writes.",
        },
    )
    rest_api.spec.components.parameter(
        idempotency.HEADER,
        "header",
        {
            "required": False,
            "schema": {"type": "string", "pattern": idempotency.KEY_PATTERN.pattern},
            "description": (
                "Send the same key again (for example, a write queued offline and "
                "replayed) and the write is applied once: the first answer comes back "
                "with `Idempotent-Replayed: true`. The same key with a different request "
                "is refused (422 idempotency_key_reused); while the first is still "
                "running, 409 idempotency_in_progress."
            ),
        },
    )
    register_blueprints(app, rest_api)
    app.register_blueprint(health_bp)


STATIC_DIR = Path(__file__).resolve().parent / "static"


def _register_frontend(app: Flask) -> None:
    # Versioned static URLs, cache headers and gzip: see ipt_groups/frontend.py.
    shell = frontend.Shell(STATIC_DIR)
    app.extensions["ipt_shell"] = shell  # the browser tests stage a release with it
    tree = frontend.LazyTree(shell, Path(app.instance_path))
    app.extensions["ipt_static_tree"] = tree  # flask static-build
    app.wsgi_app = frontend.lazy_static_files(app.wsgi_app, shell, tree)  # type: ignore[method-assign]

    def fresh(response: Response) -> Response:
        # Revalidated on every use; an unchanged file costs a 304.
        response.headers["Cache-Control"] = frontend.REVALIDATE
        if response.direct_passthrough:
            return response  # send_from_directory: conditional already
        response.add_etag()
        return response.make_conditional(request)

    @app.get("/")
    def index() -> Response:
        # Filled in with this release's static prefix; always revalidated.
        return fresh(Response(shell.index_html, mimetype="text/html"))

    @app.get("/sw.js")
    def service_worker() -> Response:
        # From the root so its scope is the whole app; never cached by the HTTP
        # cache, so a new release reaches phones on their next start.
        if "gzip" in request.accept_encodings:
            response = Response(shell.script_gzip, mimetype="text/javascript")
            response.headers["Content-Encoding"] = "gzip"
        else:
            response = Response(shell.script, mimetype="text/javascript")
        response.vary.add("Accept-Encoding")
        return fresh(response)

    @app.get("/manifest.webmanifest")
    def manifest() -> Response:
        return fresh(
            send_from_directory(
                STATIC_DIR, "manifest.webmanifest", mimetype="application/manifest+json"
            )
        )

    @app.get("/static/<path:filename>")
    def static(filename: str) -> Response:
        # Only what WhiteNoise did not answer: another release's prefix (a page
        # or worker from before a deploy). This release's copy, revalidated.
        return fresh(send_from_directory(tree.path(), frontend.unversioned(filename)))
