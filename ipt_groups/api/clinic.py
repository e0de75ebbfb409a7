"""Clinic settings (admins) and the crisis text every signed-in person can read."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from marshmallow import validate

from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.extensions import db
from ipt_groups.i18n import SUPPORTED_LANGUAGES
from ipt_groups.models import Role
from ipt_groups.security import current_actor, public, roles_required
from ipt_groups.services import clinic

blp = Blueprint("clinic", __name__, url_prefix="/api/clinic", description="Clinic settings")

EVERYONE = tuple(Role)


class SettingsSchema(ma.Schema):
    crisis_text = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.OneOf(SUPPORTED_LANGUAGES)),
        values=ma.fields.String(validate=validate.Length(min=10, max=2000)),
        metadata={
            "description": "Per language: what to do in a crisis, with the clinic's local "
            "numbers. Shown to a facilitator on every risk alert and to a member whose "
            "check-in signals risk."
        },
    )
    alert_escalation_hours = ma.fields.Integer(
        validate=validate.Range(min=1, max=168),
        metadata={"description": "Hours before an unacknowledged risk alert goes to admins"},
    )


class CrisisTextSchema(ma.Schema):
    language = ma.fields.String()
    text = ma.fields.String()


def _present(current: clinic.Settings) -> dict[str, Any]:
    return {
        "crisis_text": dict(current.crisis_text),
        "alert_escalation_hours": current.alert_escalation_hours,
    }


@blp.route("/settings")
class ClinicSettings(MethodView):
    @roles_required(Role.ADMIN)
    @blp.response(200, SettingsSchema)
    def get(self) -> Any:
        """The clinic's settings."""
        return _present(clinic.current())

    @roles_required(Role.ADMIN)
    @blp.arguments(SettingsSchema)
    @blp.response(200, SettingsSchema)
    def patch(self, data: dict[str, Any]) -> Any:
        """Change settings; a language left out of ``crisis_text`` keeps its text."""
        current = clinic.current()
        if "crisis_text" in data:
            data["crisis_text"] = {**current.crisis_text, **data["crisis_text"]}
        updated = clinic.update(current_actor(), data)
        db.session.commit()
        return _present(updated)


class CrisisTextArgs(ma.Schema):
    language = ma.fields.String(validate=validate.OneOf(SUPPORTED_LANGUAGES))


@blp.route("/crisis-text")
class CrisisText(MethodView):
    @public
    @blp.arguments(CrisisTextArgs, location="query")
    @blp.response(200, CrisisTextSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """The crisis instructions (the signed-in person's language, or ``language``).
        Public: someone whose session has ended must still be able to read them."""
        signed_in = current_user.is_authenticated
        language = args.get("language") or (current_user.language if signed_in else "en")
        return {"language": language, "text": clinic.current().crisis_text_for(language)}
