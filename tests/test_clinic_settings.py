"""Clinic settings are read once per database session (one request, one clock
job), and a write to them in that session is seen at once, whichever way it is
written: through clinic.update, a ClinicSetting row added or changed (flushed
or not), a bulk UPDATE, or a write rolled back."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import update

from ipt_groups.extensions import db
from ipt_groups.models import ClinicSetting
from ipt_groups.services import clinic
from ipt_groups.services.audit import SYSTEM
from tests.querycount import count_queries


def test_settings_are_read_once_per_session_and_afresh_by_the_next(app: Flask) -> None:
    with app.app_context():
        assert clinic.current().alert_escalation_hours == 24
        with count_queries(db.engine) as q:
            clinic.current()
        assert q.count == 0
        # Another session (another request, a clock job) changes them.
        with app.app_context():
            db.session.add(ClinicSetting(key="alert_escalation_hours", value=6))
            db.session.commit()
    with app.app_context():  # the next request reads them afresh
        assert clinic.current().alert_escalation_hours == 6


def test_a_write_in_the_same_session_is_seen_at_once(app: Flask) -> None:
    with app.app_context():
        assert clinic.current().alert_escalation_hours == 24
        row = ClinicSetting(key="alert_escalation_hours", value=6)
        db.session.add(row)  # not flushed yet
        assert clinic.current().alert_escalation_hours == 6
        db.session.commit()
        row.value = 8
        db.session.flush()
        assert clinic.current().alert_escalation_hours == 8
        hours = ClinicSetting.key == "alert_escalation_hours"
        db.session.execute(update(ClinicSetting).where(hours).values(value=9))
        assert clinic.current().alert_escalation_hours == 9
        db.session.rollback()  # back to the committed 6
        assert clinic.current().alert_escalation_hours == 6
        changed = clinic.update(SYSTEM, {"crisis_text": {"en": "Call 0100 000 000."}})
        assert changed.crisis_text_for("en") == "Call 0100 000 000."
        assert clinic.current().crisis_text_for("en") == "Call 0100 000 000."
        assert clinic.current().crisis_text_for("es").startswith("Si puede")
