"""The clock process: job settings, the heartbeat, a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine, text

from ipt_groups.clock import JOBS, build_scheduler
from ipt_groups.config import normalise_database_url
from ipt_groups.extensions import db
from ipt_groups.models import ClockHeartbeat
from tests.conftest import TEST_SECRET, database_url

ROOT = Path(__file__).resolve().parent.parent


def test_scheduler_jobs_have_fixed_ids_and_safe_defaults(app: Flask) -> None:
    scheduler = build_scheduler(app)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {job.id for job in JOBS} and "heartbeat" in jobs
    for job in jobs.values():
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time >= 60


def test_heartbeat_job_records_its_time(app: Flask) -> None:
    scheduler = build_scheduler(app)
    scheduler.get_job("heartbeat").func()  # run it as the scheduler would
    with app.app_context():
        row = db.session.get(ClockHeartbeat, "clock")
        assert row is not None and row.pid == os.getpid()


def test_clock_process_beats_and_stops_cleanly_on_sigterm(app: Flask, tmp_path: Path) -> None:
    url = database_url(Path(app.instance_path).parent)
    env = {
        **os.environ,
        "APP_ENV": "test",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": url,
        "INSTANCE_PATH": str(tmp_path),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "clock"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    engine = create_engine(normalise_database_url(url))
    try:
        beat = None
        for _ in range(300):  # wait (up to ~30 s) for the first beat; not a speed check
            with engine.connect() as conn:
                beat = conn.execute(
                    text("SELECT pid FROM clock_heartbeats WHERE name = 'clock'")
                ).scalar()
            if beat is not None or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert beat == proc.pid
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, output
        assert "clock: stopped" in output
    finally:
        if proc.poll() is None:
            proc.kill()
        engine.dispose()
