"""The REST API: one flask-smorest blueprint per resource."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from ipt_groups.api import (
    agenda,
    alerts,
    attendance,
    audit,
    auth,
    calendar,
    clinic,
    cohorts,
    content,
    docs,
    enrolments,
    fidelity,
    inventory,
    invites,
    me,
    measures,
    notes,
    notifications,
    outcomes,
    privacy,
    problem_work,
    programme,
    programmes,
    push,
    runner,
    safety_plans,
    sessions,
    sms,
    spec_security,
    trends,
    users,
)


def register_blueprints(app: Flask, api: Api) -> None:
    api.spec.plugins.append(spec_security.SecurityDoc(app))
    for module in (
        auth, me, users, programmes, cohorts, sessions, agenda, enrolments, invites, calendar,
        attendance, outcomes, measures, alerts, notes, inventory, problem_work, safety_plans,
        fidelity, runner, clinic, notifications, audit, content, push, privacy, sms, trends,
        programme,
    ):  # fmt: skip
        api.register_blueprint(module.blp)
    app.register_blueprint(docs.bp)
