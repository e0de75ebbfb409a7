"""Migrations reach the models from empty, on SQLite and PostgreSQL, and back."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect

from ipt_groups.extensions import db
from tests.conftest import TEST_SECRET, VAPID_ENV

ROOT = Path(__file__).resolve().parent.parent


def schema_diff() -> list[object]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_migrated_schema_matches_the_models(app: Flask) -> None:
    with app.app_context():
        assert schema_diff() == []


def test_downgrade_to_empty_and_upgrade_again(app: Flask) -> None:
    with app.app_context():
        flask_migrate.downgrade(revision="base")
        db.engine.dispose()
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        flask_migrate.upgrade()
        db.engine.dispose()
        assert {t.name for t in db.metadata.sorted_tables} <= set(
            inspect(db.engine).get_table_names()
        )
        assert schema_diff() == []


def flask_cli(
    tmp_path: Path, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "APP_ENV": "development",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        **(extra_env or {}),
    }
    env.pop("SECRET_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_upgrade_from_empty_then_demo_is_idempotent(tmp_path: Path) -> None:
    upgrade = flask_cli(tmp_path, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    first = flask_cli(tmp_path, "demo", "--if-empty")
    assert first.returncode == 0, first.stderr
    assert "user admin@example.org" in first.stdout
    assert "facilitator@example.org" in first.stdout
    assert "username demo-participant, PIN 246810" in first.stdout
    first_code = re.search(r"Unused invite for .*: ([2-9A-Z]{4}-[2-9A-Z]{4})", first.stdout)
    assert first_code is not None, first.stdout
    again = flask_cli(tmp_path, "demo")
    assert again.returncode == 0 and "already present" in again.stdout
    # Every run hands out a fresh code (the old one is revoked: only hashes are kept).
    second_code = re.search(r"Unused invite for .*: ([2-9A-Z]{4}-[2-9A-Z]{4})", again.stdout)
    assert second_code is not None and second_code.group(1) != first_code.group(1)
    skipped = flask_cli(tmp_path, "demo", "--if-empty")
    assert "not seeded" in skipped.stdout
    admin = flask_cli(
        tmp_path,
        "create-admin",
        "--email",
        "boss@test.example",
        "--name",
        "Boss",
        extra_env={"ADMIN_PASSWORD": "a long admin password"},
    )
    assert admin.returncode == 0, admin.stderr
    weak = flask_cli(
        tmp_path,
        "create-admin",
        "--email",
        "weak@test.example",
        "--name",
        "Weak",
        extra_env={"ADMIN_PASSWORD": "short"},
    )
    assert weak.returncode != 0 and "password" in weak.stderr


def test_demo_refused_in_production(tmp_path: Path) -> None:
    result = flask_cli(
        tmp_path,
        "demo",
        extra_env={"APP_ENV": "production", "SECRET_KEY": TEST_SECRET, **VAPID_ENV},
    )
    assert result.returncode != 0
    assert "production" in result.stderr
