"""Liveness and readiness probes for the platform and for people.

``/healthz``: the process answers (no database call, so a database outage does
not make the platform restart healthy web processes). ``/readyz``: the database
answers, the schema is at the newest migration, and how long ago the clock
process last beat (reported, not required: web can serve while clock restarts).
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from ipt_groups.config import MIGRATIONS_DIR
from ipt_groups.errors import error_response
from ipt_groups.extensions import db
from ipt_groups.models import ClockHeartbeat
from ipt_groups.timesource import utcnow

bp = Blueprint("health", __name__)

# The clock beats every 30 s; three missed beats means it is not running.
CLOCK_STALE_AFTER = timedelta(seconds=90)


@cache
def migration_heads() -> frozenset[str]:
    # Alembic (with Mako) is memory a web worker only needs once /readyz is asked
    # (docs/benchmarks.md, "Programme scale", what a worker imports).
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def _clock_status() -> dict[str, Any]:
    beat = db.session.scalar(
        select(ClockHeartbeat).order_by(ClockHeartbeat.beat_at.desc()).limit(1)
    )
    if beat is None:
        return {"status": "never", "last_beat_at": None, "age_seconds": None}
    age = utcnow() - beat.beat_at
    return {
        "status": "ok" if age <= CLOCK_STALE_AFTER else "stale",
        "last_beat_at": beat.beat_at.isoformat(),
        "age_seconds": round(age.total_seconds(), 1),
    }


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    try:
        db.session.execute(text("SELECT 1"))
        current = frozenset(
            row[0] for row in db.session.execute(text("SELECT version_num FROM alembic_version"))
        )
        clock = _clock_status()
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("readyz: database unavailable", exc_info=True)
        return error_response(
            503, "The database is not reachable or not migrated.", code="database_unavailable"
        )
    expected = migration_heads()
    if current != expected:
        return error_response(
            503,
            "The database schema is not at the newest migration: run flask db upgrade.",
            code="migrations_pending",
        )
    return jsonify(
        {
            "status": "ok",
            "database": "ok",
            "migrations": {"current": sorted(current), "expected": sorted(expected)},
            "clock": clock,
        }
    )
