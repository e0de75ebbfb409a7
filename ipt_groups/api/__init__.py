"""The REST API: one flask-smorest blueprint per resource."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from ipt_groups.api import (
    agenda,
    attendance,
    auth,
    calendar,
    cohorts,
    docs,
    enrolments,
    invites,
    me,
    programmes,
    sessions,
    users,
)


def register_blueprints(app: Flask, api: Api) -> None:
    for module in (
        auth, me, users, programmes, cohorts, sessions, agenda, enrolments, invites, calendar,
        attendance,
    ):  # fmt: skip
        api.register_blueprint(module.blp)
    app.register_blueprint(docs.bp)
