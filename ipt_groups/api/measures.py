"""Instruments, assessments entered by staff, and members' own check-ins."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from marshmallow import validate

from ipt_groups.api.common import ID, conflict
from ipt_groups.api.derived import derived
from ipt_groups.api.lean import lean_response
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.errors import ApiError
from ipt_groups.extensions import db
from ipt_groups.models import STAFF_ROLES, AssessmentSource, Role
from ipt_groups.protocol.instruments import Instrument
from ipt_groups.security import current_actor, roles_required
from ipt_groups.services import access, audit, clinic, measures
from ipt_groups.services.enrolments import my_enrolment

blp = Blueprint("measures", __name__, url_prefix="/api", description="Measures and check-ins")

STAFF = tuple(STAFF_ROLES)
MANAGERS = (Role.ADMIN, Role.FACILITATOR)
KEY = r"^[a-z][a-z0-9_]{1,39}$"
LANG_TEXT = ma.fields.Dict(
    keys=ma.fields.String(validate=validate.OneOf(["en", "es"])),
    values=ma.fields.String(validate=validate.Length(min=1, max=500)),
)
CLIENT_KEY = ma.fields.String(
    validate=validate.Length(min=8, max=64),
    metadata={"description": "Unique per entry (e.g. a UUID): a replay returns the first copy"},
)


# -- schemas -----------------------------------------------------------------


class ItemSchema(ma.Schema):
    key = ma.fields.String(required=True, validate=validate.Regexp(KEY))
    text = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.OneOf(["en", "es"])),
        values=ma.fields.String(validate=validate.Length(min=1, max=500)),
        required=True,
        validate=lambda d: "en" in d or _fail("Give at least the English text."),
    )


class BandSchema(ma.Schema):
    low = ma.fields.Integer(required=True, validate=validate.Range(min=0, max=10_000))
    high = ma.fields.Integer(required=True, validate=validate.Range(min=0, max=10_000))
    label = ma.fields.String(required=True, validate=validate.Regexp(KEY))


def _fail(message: str) -> bool:
    raise ma.ValidationError(message)


class InstrumentSchema(ma.Schema):
    key = ma.fields.String(required=True, validate=validate.Regexp(KEY))
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=80))
    items = ma.fields.List(
        ma.fields.Nested(ItemSchema), required=True, validate=validate.Length(min=1, max=60)
    )
    min_answer = ma.fields.Integer(required=True, validate=validate.Range(min=0, max=100))
    max_answer = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=100))
    choices = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.OneOf(["en", "es"])),
        values=ma.fields.List(ma.fields.String(validate=validate.Length(max=80)), 
                              validate=validate.Length(max=101)),
        load_default=dict,
        metadata={"description": "Answer labels per language, one per value from min_answer"},
    )  # fmt: skip
    bands = ma.fields.List(
        ma.fields.Nested(BandSchema), load_default=list, validate=validate.Length(max=20)
    )
    risk_items = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.Regexp(KEY)),
        values=ma.fields.Integer(validate=validate.Range(min=0, max=100)),
        load_default=dict,
        metadata={"description": "Item key -> the answer above which the item flags risk"},
    )
    period = LANG_TEXT
    shipped = derived(ma.fields.Boolean, lambda i: measures.is_shipped(i.key), dump_only=True)


class AnswersField(ma.fields.Dict):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            keys=ma.fields.String(validate=validate.Length(max=40)),
            # Loose here on purpose: the instrument's own scale is checked when
            # scoring, so the error names the item and its allowed range.
            values=ma.fields.Raw(),
            required=True,
            validate=validate.Length(max=100),
            metadata={"description": "Item key -> answer", "example": {"phq9_1": 2}},
            **kwargs,
        )


class AssessmentCreateSchema(ma.Schema):
    instrument = ma.fields.String(required=True, validate=validate.Regexp(KEY))
    answers = AnswersField()
    session_id = ma.fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    meeting_id = ma.fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    client_key = CLIENT_KEY


class AssessmentSchema(ma.Schema):
    id = ma.fields.Integer()
    enrolment_id = ma.fields.Integer()
    session_id = ma.fields.Integer(allow_none=True)
    meeting_id = ma.fields.Integer(allow_none=True)
    instrument = ma.fields.String()
    instrument_name = ma.fields.String()
    answers = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    total = ma.fields.Integer()
    band = ma.fields.String(allow_none=True)
    risk_items = ma.fields.List(ma.fields.String())
    source = ma.fields.String(metadata={"description": "staff or self (the member's check-in)"})
    entered_by_id = ma.fields.Integer(allow_none=True)
    completed_at = ma.fields.AwareDateTime()


class AlertBriefSchema(ma.Schema):
    id = ma.fields.Integer()
    opened_at = ma.fields.AwareDateTime()
    escalated_at = ma.fields.AwareDateTime(
        allow_none=True, metadata={"description": "Set when admins were told at once"}
    )


class AssessmentResultSchema(ma.Schema):
    assessment = ma.fields.Nested(AssessmentSchema)
    alert = ma.fields.Nested(
        AlertBriefSchema, allow_none=True,
        metadata={"description": "The risk alert this opened (supervisors have been told)"},
    )  # fmt: skip
    crisis_text = ma.fields.String(
        allow_none=True, metadata={"description": "The clinic's crisis instructions, on risk"}
    )
    replayed = ma.fields.Boolean()


class AssessmentListArgs(ma.Schema):
    instrument = ma.fields.String(validate=validate.Regexp(KEY))


class CheckInItemSchema(ma.Schema):
    key = ma.fields.String()
    text = ma.fields.String()


class CheckInInstrumentSchema(ma.Schema):
    key = ma.fields.String()
    name = ma.fields.String()
    period = ma.fields.String()
    min_answer = ma.fields.Integer()
    max_answer = ma.fields.Integer()
    choices = ma.fields.List(ma.fields.String())
    items = ma.fields.List(ma.fields.Nested(CheckInItemSchema))
    risk_items = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        metadata={
            "description": "Item key -> highest safe answer: above it, the app shows the "
            "crisis text at once, before the answers are sent"
        },
    )


class CheckInDueSchema(ma.Schema):
    due = ma.fields.Boolean()
    session_id = ma.fields.Integer(allow_none=True)
    session_starts_at = ma.fields.AwareDateTime(allow_none=True)
    instruments = ma.fields.List(ma.fields.Nested(CheckInInstrumentSchema))


class CheckInSchema(ma.Schema):
    instrument = ma.fields.String(required=True, validate=validate.Regexp(KEY))
    answers = AnswersField()
    client_key = CLIENT_KEY


class CheckInResultSchema(ma.Schema):
    id = ma.fields.Integer()
    instrument = ma.fields.String()
    completed_at = ma.fields.AwareDateTime()
    crisis_text = ma.fields.String(
        allow_none=True,
        metadata={"description": "Shown at once when an answer signals risk; null otherwise"},
    )
    more_due = ma.fields.List(ma.fields.String(), metadata={"description": "Still to answer"})


# -- presenters --------------------------------------------------------------


def _in_language(instrument: Instrument, language: str) -> dict[str, Any]:
    def pick(texts: Any) -> Any:
        return texts.get(language) or texts.get("en") or next(iter(texts.values()), "")

    return {
        "key": instrument.key,
        "name": instrument.name,
        "period": pick(instrument.period) if instrument.period else "",
        "min_answer": instrument.min_answer,
        "max_answer": instrument.max_answer,
        "choices": list(pick(instrument.choices)) if instrument.choices else [],
        "items": [{"key": i.key, "text": pick(i.text)} for i in instrument.items],
        "risk_items": dict(instrument.risk_items),
    }


def _crisis_text(language: str) -> str:
    return clinic.current().crisis_text_for(language)


# -- instruments -------------------------------------------------------------


@blp.route("/instruments")
class Instruments(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, InstrumentSchema(many=True))
    def get(self) -> Any:
        """Instruments in use: PHQ-9, PHQ-8, GAD-7, the mood rating and the clinic's own."""
        return [instrument for instrument, _shipped in measures.list_instruments()]

    @roles_required(Role.ADMIN)
    @blp.arguments(InstrumentSchema)
    @blp.response(201, InstrumentSchema)
    @blp.alt_response(409, **conflict("key_taken"))
    def post(self, data: dict[str, Any]) -> Any:
        """Add a locally validated instrument: items, answer scale, bands, risk items."""
        instrument = measures.create_local(current_actor(), data)
        db.session.commit()
        return instrument


@blp.route("/instruments/<string(maxlength=40):key>")
class InstrumentByKey(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, InstrumentSchema)
    def get(self, key: str) -> Any:
        """One instrument with its items in every language."""
        return measures.get_instrument(key)

    @roles_required(Role.ADMIN)
    @blp.response(204)
    @blp.alt_response(409, **conflict("shipped"))
    def delete(self, key: str) -> None:
        """Archive a local instrument (past answers keep their copy)."""
        measures.archive_local(current_actor(), key)
        db.session.commit()


# -- staff: assessments ------------------------------------------------------


def _result(recorded: measures.Recorded, language: str) -> dict[str, Any]:
    return {
        "assessment": recorded.assessment,
        "alert": recorded.alert,
        "crisis_text": _crisis_text(language) if recorded.assessment.risk_items else None,
        "replayed": recorded.replayed,
    }


@blp.route(f"/enrolments/<{ID}:enrolment_id>/assessments")
class MemberAssessments(MethodView):
    @roles_required(*STAFF)
    @blp.arguments(AssessmentListArgs, location="query")
    @blp.response(200, AssessmentSchema(many=True))
    def get(self, args: dict[str, Any], enrolment_id: int) -> Any:
        """The member's assessments, oldest first (every read is audited)."""
        member = access.get_enrolment(current_user, enrolment_id)
        rows = measures.history(member, args.get("instrument"))
        audit.record(current_actor(), "assessment.read", "enrolment", member.id,
                     subject_id=member.id)  # fmt: skip
        audit.commit_reads()
        return rows

    @roles_required(*MANAGERS)
    @blp.arguments(AssessmentCreateSchema)
    @blp.response(201, AssessmentResultSchema)
    @blp.alt_response(409, **conflict("key_reused"))
    def post(self, data: dict[str, Any], enrolment_id: int) -> Any:
        """Enter a measure on the member's behalf. A risk answer (PHQ-9 item 9 above
        0) opens a risk alert at once; the response carries the crisis instructions."""
        member = access.get_enrolment(current_user, enrolment_id, manage=True)
        session = meeting = None
        if data.get("session_id"):
            session = access.get_session(current_user, data["session_id"], manage=True)
        if data.get("meeting_id"):
            meeting = access.get_meeting(current_user, data["meeting_id"], manage=True)
        recorded = measures.record(
            current_actor(), current_user, member, data["instrument"], data["answers"],
            source=AssessmentSource.STAFF, session=session, meeting=meeting,
            client_key=data.get("client_key"),
        )  # fmt: skip
        db.session.commit()
        return _result(recorded, current_user.language)


# -- participants: their own check-in ---------------------------------------


@blp.route("/me/check-in")
class MyCheckIn(MethodView):
    @roles_required(Role.PARTICIPANT)
    @lean_response(blp, 200, CheckInDueSchema)
    def get(self) -> Any:
        """What I am asked to answer now (before or just after a session), if anything."""
        due = measures.check_in_due(my_enrolment(current_user))
        if due is None:
            return {"due": False, "session_id": None, "session_starts_at": None, "instruments": []}
        return {
            "due": True,
            "session_id": due.session.id,
            "session_starts_at": due.session.starts_at,
            "instruments": [_in_language(i, current_user.language) for i in due.instruments],
        }

    @roles_required(Role.PARTICIPANT)
    @blp.arguments(CheckInSchema)
    @blp.response(201, CheckInResultSchema)
    @blp.alt_response(409, **conflict("nothing_due", "key_reused"))
    def post(self, data: dict[str, Any]) -> Any:
        """Send my answers. If an answer says I may be at risk, the clinic's crisis
        text comes back in this response, and my group's supervisor is told."""
        member = my_enrolment(current_user)
        due = measures.check_in_due(member)
        replay = measures.already_sent(current_user, data.get("client_key"))
        counts = due is not None and data["instrument"] in {i.key for i in due.instruments}
        # Answers that are not due (the window closed, a phone synced late, the
        # facilitator entered them first) are refused, unless they signal risk:
        # those are kept, open an alert, and bring the crisis text back.
        if not (replay or counts or measures.signals_risk(data["instrument"], data["answers"])):
            raise ApiError(409, "Nothing to answer at the moment.", code="nothing_due")
        recorded = measures.record(
            current_actor(), current_user, member, data["instrument"], data["answers"],
            source=AssessmentSource.SELF, session=due.session if due and counts else None,
            client_key=data.get("client_key"),
        )  # fmt: skip
        db.session.commit()
        still = measures.check_in_due(member)
        return {
            "id": recorded.assessment.id,
            "instrument": recorded.assessment.instrument,
            "completed_at": recorded.assessment.completed_at,
            "crisis_text": (
                _crisis_text(current_user.language) if recorded.assessment.risk_items else None
            ),
            "more_due": [i.key for i in still.instruments] if still else [],
        }
