"""The psychoeducation library (admins edit, staff read), releases to cohorts,
sharing from the runner, and the member's readings (cacheable, conditional)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import marshmallow as ma
from flask import Response, current_app, request
from flask.views import MethodView
from flask_login import current_user
from marshmallow import validate

from ipt_groups.api.common import ID, conflict
from ipt_groups.api.derived import derived
from ipt_groups.api.lean import checked_dump
from ipt_groups.api.parsing import ApiBlueprint as Blueprint
from ipt_groups.errors import ApiError
from ipt_groups.extensions import db
from ipt_groups.i18n import SUPPORTED_LANGUAGES
from ipt_groups.models import STAFF_ROLES, ContentItem, ContentVersion, Role
from ipt_groups.security import current_actor, private_cache, roles_required
from ipt_groups.services import access, clinic, content
from ipt_groups.services.enrolments import my_enrolment
from ipt_groups.timesource import utcnow

blp = Blueprint("content", __name__, url_prefix="/api", description="Psychoeducation library")

STAFF = tuple(STAFF_ROLES)
MANAGERS = (Role.ADMIN, Role.FACILITATOR)
KEY_ROUTE = "string(maxlength=80)"
ITEM_KEY = ma.fields.String(
    required=True, validate=validate.Regexp(content.KEY_PATTERN.pattern),
    metadata={"example": "what-is-depression"},
)  # fmt: skip


class ContentTagsSchema(ma.Schema):
    phase = ma.fields.String(
        allow_none=True, validate=validate.OneOf(["initial", "middle", "termination"])
    )
    problem_area = ma.fields.String(
        allow_none=True,
        validate=validate.OneOf(["grief", "disputes", "life_changes", "loneliness"]),
    )
    release_session = ma.fields.Integer(
        allow_none=True,
        validate=validate.Range(min=1, max=52),
        metadata={"description": "Suggested session (of 8; scaled to other programmes)"},
    )
    release_at = ma.fields.String(load_default="start", validate=validate.OneOf(["start", "end"]))


class ContentTextSchema(ma.Schema):
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=160))
    summary = ma.fields.String(load_default="", validate=validate.Length(max=500))
    body = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=50_000),
        metadata={"description": "Markdown; shown as sanitised HTML. "
                  "{{ crisis_text }} inserts the clinic's crisis instructions"},
    )  # fmt: skip
    reading_minutes = ma.fields.Integer(
        validate=validate.Range(min=1, max=120),
        metadata={"description": "Estimated from the length when left out"},
    )


class LibraryItemCreateSchema(ContentTextSchema):
    key = ITEM_KEY
    language = ma.fields.String(load_default="en", validate=validate.OneOf(SUPPORTED_LANGUAGES))
    tags = ma.fields.Nested(ContentTagsSchema, load_default=dict)


class LibraryItemPatchSchema(ma.Schema):
    tags = ma.fields.Nested(ContentTagsSchema, required=True)


class ContentVersionSchema(ma.Schema):
    language = ma.fields.String()
    version = ma.fields.Integer()
    title = ma.fields.String()
    summary = ma.fields.String()
    body_md = ma.fields.String()
    body_html = ma.fields.String(metadata={"description": "Sanitised"})
    reading_minutes = ma.fields.Integer()
    created_at = ma.fields.AwareDateTime()
    created_by_id = ma.fields.Integer(allow_none=True)


class LibraryItemSummarySchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    tags = ma.fields.Nested(ContentTagsSchema)
    languages = ma.fields.List(ma.fields.String())
    retired_at = ma.fields.AwareDateTime(allow_none=True)


def _translations(item: ContentItem) -> list[ContentVersion]:
    """The item's newest version in each language, by language."""
    newest = {v.language: v for v in item.versions}  # versions run oldest first
    return [newest[language] for language in sorted(newest)]


def _title(item: ContentItem) -> str:
    """The English title, else the first language's, else empty."""
    translations = _translations(item)
    english = next((v.title for v in translations if v.language == "en"), None)
    return english or (translations[0].title if translations else "")


class LibraryItemSchema(LibraryItemSummarySchema):
    """Dumps a ContentItem, with its newest text in each language."""

    title = derived(ma.fields.String, _title)
    languages = derived(
        ma.fields.List, lambda item: [v.language for v in _translations(item)], ma.fields.String()
    )
    translations = derived(
        ma.fields.List,
        _translations,
        ma.fields.Nested(ContentVersionSchema),
        metadata={"description": "Latest version per language"},
    )


class LibraryListArgs(ma.Schema):
    include_retired = ma.fields.Boolean(load_default=False)


class VersionArgs(ma.Schema):
    language = ma.fields.String(load_default="en", validate=validate.OneOf(SUPPORTED_LANGUAGES))


class ReleaseCreateSchema(ma.Schema):
    item_key = ITEM_KEY
    release_at = ma.fields.AwareDateTime(
        load_default=None,
        allow_none=True,
        metadata={"description": "Leave out (or null) to release now"},
    )


class ShareSchema(ma.Schema):
    item_key = ITEM_KEY


class ReleaseSchema(ma.Schema):
    """Dumps a services.content.CohortRelease."""

    item_key = ma.fields.String(attribute="release.item.key")
    title = ma.fields.String()
    source = ma.fields.String(
        attribute="release.source", metadata={"description": "plan, manual or live"}
    )
    session_number = ma.fields.Integer(attribute="release.session_number", allow_none=True)
    at = ma.fields.String(
        attribute="release.at", allow_none=True, metadata={"description": "start or end"}
    )
    due_at = ma.fields.AwareDateTime(allow_none=True)
    state = ma.fields.String(metadata={"description": "scheduled, released or withdrawn"})
    opened = ma.fields.Integer(metadata={"description": "How many members opened it"})


class ReadingSchema(ma.Schema):
    key = ma.fields.String()
    language = ma.fields.String(metadata={"description": "en when not translated"})
    version = ma.fields.Integer()
    title = ma.fields.String()
    summary = ma.fields.String()
    reading_minutes = ma.fields.Integer()
    released_at = ma.fields.AwareDateTime()
    new = ma.fields.Boolean(metadata={"description": "Not opened yet"})


class ReadingFullSchema(ReadingSchema):
    body_html = ma.fields.String(metadata={"description": "Sanitised HTML"})


class ReadingFeedSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ReadingSchema))


# The member's home reads this on every open: dumped by a compiled function (api/lean.py).
_dump_feed = checked_dump(ReadingFeedSchema)

# -- presenters --------------------------------------------------------------


def _summary(item: ContentItem, languages: list[str], title: str) -> dict[str, Any]:
    return {
        "key": item.key, "title": title, "tags": item.tags, "languages": languages,
        "retired_at": item.retired_at,
    }  # fmt: skip


# kept: a hot read served through api/lean.py; see docs/benchmarks.md, issue 24 section
def present_reading(entry: content.FeedEntry, *, full: bool = False) -> dict[str, Any]:
    v = entry.version
    body = {
        "key": entry.item.key, "language": v.language, "version": v.version, "title": v.title,
        "summary": v.summary, "reading_minutes": v.reading_minutes,
        "released_at": entry.released_at, "new": not entry.opened,
    }  # fmt: skip
    if full:
        crisis = clinic.current().crisis_text_for(current_user.language)
        body["body_html"] = content.with_crisis_text(v.body_html, crisis)
    return body


def _conditional(data: dict[str, Any], last_modified: datetime | None) -> Response:
    """JSON with an ETag and Last-Modified; 304 when the client has it already."""
    payload = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    etag = hashlib.sha256(payload.encode()).hexdigest()[:32]
    fresh = request.if_none_match.contains(etag) or (
        not request.if_none_match
        and last_modified is not None
        and request.if_modified_since is not None
        and last_modified.replace(microsecond=0) <= request.if_modified_since
    )
    response = (
        Response(status=304)
        if fresh
        else current_app.response_class(payload, mimetype="application/json")
    )
    response.set_etag(etag)
    if last_modified is not None:
        response.last_modified = last_modified
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("Cookie")
    return response


# -- the library -------------------------------------------------------------


@blp.route("/content")
class Library(MethodView):
    @roles_required(*STAFF)
    @blp.arguments(LibraryListArgs, location="query")
    @blp.response(200, LibraryItemSummarySchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """The library: each reading's key, English title, tags and languages."""
        items = content.list_items(include_retired=args["include_retired"])
        languages = content.languages_of([i.id for i in items])
        titles = content.latest_for([i.id for i in items], "en")
        return [
            _summary(i, languages.get(i.id, []), titles[i.id].title if i.id in titles else "")
            for i in items
        ]

    @roles_required(Role.ADMIN)
    @blp.arguments(LibraryItemCreateSchema)
    @blp.response(201, LibraryItemSchema)
    @blp.alt_response(409, **conflict("key_taken"))
    def post(self, data: dict[str, Any]) -> Any:
        """Add a reading (Markdown) in one language; translate it with PUT."""
        actor = current_actor()
        item = content.create_item(actor, data["key"], data["tags"])
        content.save_version(
            actor, item, data["language"], title=data["title"], summary=data["summary"],
            body_md=data["body"], reading_minutes=data.get("reading_minutes"),
        )  # fmt: skip
        content.plan_open_cohorts()
        db.session.commit()
        return item


@blp.route(f"/content/<{KEY_ROUTE}:key>")
class LibraryItem(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, LibraryItemSchema)
    def get(self, key: str) -> Any:
        """A reading with its latest text in each language."""
        return content.get_item(key)

    @roles_required(Role.ADMIN)
    @blp.arguments(LibraryItemPatchSchema)
    @blp.response(200, LibraryItemSchema)
    def patch(self, data: dict[str, Any], key: str) -> Any:
        """Change a reading's tags (phase, problem area, suggested release)."""
        item = content.get_item(key)
        if content.set_tags(current_actor(), item, data["tags"]):
            content.plan_open_cohorts()
        db.session.commit()
        return item


@blp.route(f"/content/<{KEY_ROUTE}:key>/texts/<string(maxlength=16):language>")
class LibraryText(MethodView):
    @roles_required(Role.ADMIN)
    @blp.arguments(ContentTextSchema)
    @blp.response(200, LibraryItemSchema)
    def put(self, data: dict[str, Any], key: str, language: str) -> Any:
        """Edit or translate: saves a new version in that language (members see the
        newest); sending the same text again changes nothing."""
        if language not in SUPPORTED_LANGUAGES:
            raise ApiError(404, f"Languages: {', '.join(SUPPORTED_LANGUAGES)}.")
        item = content.get_item(key)
        content.save_version(
            current_actor(), item, language, title=data["title"], summary=data["summary"],
            body_md=data["body"], reading_minutes=data.get("reading_minutes"),
        )  # fmt: skip
        db.session.commit()
        return item


@blp.route(f"/content/<{KEY_ROUTE}:key>/versions")
class LibraryVersions(MethodView):
    @roles_required(*STAFF)
    @blp.arguments(VersionArgs, location="query")
    @blp.response(200, ContentVersionSchema(many=True))
    def get(self, args: dict[str, Any], key: str) -> Any:
        """Every version of a reading in one language, newest first."""
        item = content.get_item(key)
        return sorted(
            (v for v in item.versions if v.language == args["language"]),
            key=lambda v: v.version,
            reverse=True,
        )


@blp.route(f"/content/<{KEY_ROUTE}:key>/retire")
class LibraryRetire(MethodView):
    @roles_required(Role.ADMIN)
    @blp.response(200, LibraryItemSchema)
    def post(self, key: str) -> Any:
        """Retire a reading: no new releases, and members stop seeing it."""
        item = content.get_item(key)
        content.retire(current_actor(), item)
        db.session.commit()
        return item


# -- releases to a cohort ----------------------------------------------------


@blp.route(f"/cohorts/<{ID}:cohort_id>/releases")
class CohortReleases(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, ReleaseSchema(many=True))
    def get(self, cohort_id: int) -> Any:
        """The cohort's readings: planned, released or withdrawn, with how many
        members opened each (never who)."""
        cohort = access.get_cohort(current_user, cohort_id)
        return content.cohort_releases(cohort)

    @roles_required(*MANAGERS)
    @blp.arguments(ReleaseCreateSchema)
    @blp.response(200, ReleaseSchema(many=True))
    @blp.alt_response(409, **conflict("retired"))
    def post(self, data: dict[str, Any], cohort_id: int) -> Any:
        """Release a reading now, or schedule it for a moment (overrides the plan)."""
        cohort = access.get_cohort(current_user, cohort_id, manage=True)
        when = data["release_at"]
        if when is not None and when <= utcnow():
            when = None  # a moment already past means now
        content.release_at(current_actor(), cohort, content.get_item(data["item_key"]), when)
        db.session.commit()
        return content.cohort_releases(cohort)


@blp.route(f"/cohorts/<{ID}:cohort_id>/releases/<{KEY_ROUTE}:key>")
class CohortRelease(MethodView):
    @roles_required(*MANAGERS)
    @blp.response(200, ReleaseSchema(many=True))
    def delete(self, cohort_id: int, key: str) -> Any:
        """Withdraw a reading from the cohort (planned or already released)."""
        cohort = access.get_cohort(current_user, cohort_id, manage=True)
        content.withdraw(current_actor(), cohort, content.get_item(key))
        db.session.commit()
        return content.cohort_releases(cohort)


@blp.route(f"/sessions/<{ID}:session_id>/share")
class ShareLive(MethodView):
    @roles_required(*MANAGERS)
    @blp.arguments(ShareSchema)
    @blp.response(200, ReleaseSchema(many=True))
    @blp.alt_response(409, **conflict("retired"))
    def post(self, data: dict[str, Any], session_id: int) -> Any:
        """Share a reading with the group now, from the session runner."""
        session = access.get_session(current_user, session_id, manage=True)
        cohort = session.cohort
        item = content.get_item(data["item_key"])
        content.release_at(current_actor(), cohort, item, None, live=True)
        db.session.commit()
        return content.cohort_releases(cohort)


# -- the member's readings ---------------------------------------------------


@blp.route("/me/readings")
class MyReadings(MethodView):
    @private_cache
    @roles_required(Role.PARTICIPANT)
    @blp.response(200, ReadingFeedSchema)
    def get(self) -> Any:
        """Readings released to my group, newest first, in my language (English when
        not translated), with a "new" marker. Send If-None-Match for a 304."""
        entries = content.feed(my_enrolment(current_user), current_user.language, bodies=False)
        data = _dump_feed({"items": [present_reading(e) for e in entries]})
        changed = [max(e.released_at, e.version.created_at) for e in entries]
        return _conditional(data, max(changed, default=None))


class ReadingQuerySchema(ma.Schema):
    opened = ma.fields.Boolean(
        load_default=True,
        metadata={"description": "false: fetched to keep for offline reading, not opened yet"},
    )


@blp.route(f"/me/readings/<{KEY_ROUTE}:key>")
class MyReading(MethodView):
    @private_cache
    @roles_required(Role.PARTICIPANT)
    @blp.arguments(ReadingQuerySchema, location="query")
    @blp.response(200, ReadingFullSchema)
    def get(self, query: dict[str, Any], key: str) -> Any:
        """One reading to read (sanitised HTML); marks it as opened (unless
        ``opened=false``: the app saving it for reading offline)."""
        opened = query["opened"]
        entry = content.open_reading(
            my_enrolment(current_user), current_user.language, key, mark=opened
        )
        db.session.commit()
        data = ReadingFullSchema().dump(present_reading(entry, full=True))
        if opened:
            data["new"] = False  # it is open now
        return _conditional(data, max(entry.released_at, entry.version.created_at))
