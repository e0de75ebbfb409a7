"""What is on someone's calendar, as JSON (``/api/me/schedule``) and as a
private iCalendar feed.

Everything here may end up on a lock screen or in a calendar synced to a
third-party service, so titles are neutral ("Group meeting"), and neither the
cohort's internal name, the programme's name nor anything clinical appears.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from icalendar import Alarm, Calendar, Event
from sqlalchemy import Row, select, update

from ipt_groups.extensions import db
from ipt_groups.models import (
    FACILITATING,
    Apology,
    CalendarFeed,
    Cohort,
    CohortStaff,
    Enrolment,
    EnrolmentStatus,
    GroupSession,
    MemberMeeting,
    Role,
    SessionKind,
    StaffRole,
    User,
)
from ipt_groups.protocol.recurrence import utc_to_local
from ipt_groups.services.enrolments import current_enrolment, waitlist
from ipt_groups.services.outbox import preferences_for
from ipt_groups.timesource import utcnow

TITLES = {
    "en": {
        "group": "Group meeting",
        "catch_up": "Extra group meeting",
        "individual": "One-to-one meeting",
        "calendar": "Group meetings",
        "alarm_24h": "{title} tomorrow",
        "alarm_1h": "{title} in one hour",
    },
    "es": {
        "group": "Reunión del grupo",
        "catch_up": "Reunión adicional del grupo",
        "individual": "Reunión individual",
        "calendar": "Reuniones del grupo",
        "alarm_24h": "{title} mañana",
        "alarm_1h": "{title} en una hora",
    },
}

LAST_USED_PRECISION = timedelta(minutes=5)
# Calendar alarms mirror the push reminders (the same preference switches), so
# a member who subscribed their calendar is reminded by the phone itself: no
# push, no SMS, no data at that moment.
ALARMS = (("session_24h", timedelta(days=1)), ("session_1h", timedelta(hours=1)))


@dataclass(frozen=True)
class CalendarEvent:
    ref: str  # our own reference, e.g. group-session-12; the ICS UID is derived from it
    kind: str  # group, catch_up, individual
    title: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str  # the zone the meeting is planned in (the cohort's)
    location: str
    status: str  # scheduled or cancelled
    cohort_id: int
    session_id: int | None = None
    meeting_id: int | None = None
    number: int | None = None
    of: int | None = None
    updated_at: datetime | None = None

    def local_start(self, zone: str) -> datetime:
        return utc_to_local(self.starts_at, zone)


def _titles(language: str) -> dict[str, str]:
    return TITLES.get(language, TITLES["en"])


def _session_event(session: GroupSession | Row, cohort: Cohort, language: str) -> CalendarEvent:
    return CalendarEvent(
        ref=f"group-session-{session.id}",
        kind=session.kind,
        title=_titles(language)["group" if session.kind == SessionKind.GROUP else "catch_up"],
        starts_at=session.starts_at,
        ends_at=session.starts_at
        + timedelta(minutes=session.duration_minutes),  # as GroupSession.ends_at
        time_zone=cohort.time_zone,
        location=cohort.location,
        status=session.status,
        cohort_id=cohort.id,
        session_id=session.id,
        number=session.number,
        of=cohort.group_session_count,
        updated_at=session.updated_at,
    )


def _meeting_event(meeting: MemberMeeting | Row, cohort: Cohort, language: str) -> CalendarEvent:
    if meeting.starts_at is None:  # callers pass only scheduled meetings
        raise ValueError(f"meeting {meeting.id} has no time")
    return CalendarEvent(
        ref=f"member-meeting-{meeting.id}",
        kind="individual",
        title=_titles(language)["individual"],
        starts_at=meeting.starts_at,
        ends_at=meeting.starts_at + timedelta(minutes=meeting.duration_minutes),
        time_zone=cohort.time_zone,
        location=meeting.location or cohort.location,
        status=meeting.status,
        cohort_id=cohort.id,
        meeting_id=meeting.id,
        updated_at=meeting.updated_at,
    )


# What an event is made of, read as plain rows on the member's path (the schedule
# and the calendar feed): the columns the events use, no entities built. The
# orders are the relationships' (Enrolment.meetings, Cohort.sessions), so the
# stable sort below keeps ties as before.
_MEETING_COLUMNS = (
    MemberMeeting.id,
    MemberMeeting.starts_at,
    MemberMeeting.duration_minutes,
    MemberMeeting.location,
    MemberMeeting.status,
    MemberMeeting.updated_at,
)
_SESSION_COLUMNS = (
    GroupSession.id,
    GroupSession.kind,
    GroupSession.number,
    GroupSession.starts_at,
    GroupSession.duration_minutes,
    GroupSession.status,
    GroupSession.updated_at,
)


def participant_events(user: User, enrolment: Enrolment | None) -> list[CalendarEvent]:
    if enrolment is None:
        return []
    cohort = enrolment.cohort
    meetings = db.session.execute(
        select(*_MEETING_COLUMNS)
        .where(MemberMeeting.enrolment_id == enrolment.id, MemberMeeting.starts_at.is_not(None))
        .order_by(MemberMeeting.after_session, MemberMeeting.id)
    )
    events = [_meeting_event(m, cohort, user.language) for m in meetings]
    if enrolment.status == EnrolmentStatus.ENROLLED:
        # A waitlisted person has no place in the group yet: no group sessions.
        sessions = db.session.execute(
            select(*_SESSION_COLUMNS)
            .where(GroupSession.cohort_id == cohort.id)
            .order_by(GroupSession.starts_at)
        )
        events += [_session_event(s, cohort, user.language) for s in sessions]
    return sorted(events, key=lambda e: e.starts_at)


def staff_events(user: User) -> list[CalendarEvent]:
    """Group sessions of every cohort the user works in; for facilitators also
    the one-to-one meetings with their members (titles never name the member)."""
    rows = db.session.execute(
        select(CohortStaff.role, Cohort).join(Cohort).where(CohortStaff.user_id == user.id)
    ).all()
    events: list[CalendarEvent] = []
    for role, cohort in rows:
        events += [_session_event(s, cohort, user.language) for s in cohort.sessions]
        if role in FACILITATING:
            meetings = db.session.scalars(
                select(MemberMeeting)
                .join(Enrolment)
                .where(Enrolment.cohort_id == cohort.id, MemberMeeting.starts_at.is_not(None))
            )
            events += [_meeting_event(m, cohort, user.language) for m in meetings]
    return sorted(events, key=lambda e: e.starts_at)


def events_for(user: User) -> list[CalendarEvent]:
    if user.role == Role.PARTICIPANT:
        return participant_events(user, current_enrolment(user))
    return staff_events(user)


@dataclass(frozen=True)
class Schedule:
    status: str  # enrolled, waitlisted, none (participants) or staff
    cohort: Cohort | None
    facilitators: list[str]
    waitlist_position: int | None
    events: list[CalendarEvent]
    next: CalendarEvent | None
    apologised: set[int]  # session ids the member said they cannot come to


def apologised_sessions(enrolment: Enrolment | None) -> set[int]:
    """Sessions this member has said they cannot come to (their current group)."""
    if enrolment is None:
        return set()
    stmt = select(Apology.session_id).where(Apology.enrolment_id == enrolment.id)
    return set(db.session.scalars(stmt))


def schedule_for(user: User) -> Schedule:
    now = utcnow()
    if user.role == Role.PARTICIPANT:
        enrolment = current_enrolment(user)
        events = participant_events(user, enrolment)
        cohort = enrolment.cohort if enrolment else None
        position = None
        if enrolment is not None and enrolment.status == EnrolmentStatus.WAITLISTED:
            position = [e.id for e in waitlist(enrolment.cohort)].index(enrolment.id) + 1
        facilitators = []
        if cohort is not None:
            facilitators = [
                s.user.display_name
                for s in sorted(cohort.staff, key=lambda s: s.role != StaffRole.LEAD)
                if s.role in FACILITATING
            ]
        status = enrolment.status if enrolment else "none"
        apologised = apologised_sessions(enrolment)
    else:
        events, cohort, position, facilitators, status = staff_events(user), None, None, [], "staff"
        apologised = set()
    upcoming = [e for e in events if e.status == "scheduled" and e.ends_at > now]
    return Schedule(
        status,
        cohort,
        facilitators,
        position,
        events,
        upcoming[0] if upcoming else None,
        apologised,
    )


# --- private iCalendar feeds -------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/api/calendar/{token}.ics"


def active_feed(user: User) -> CalendarFeed | None:
    stmt = select(CalendarFeed).where(
        CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None)
    )
    return db.session.scalar(stmt)


def revoke_feeds(user: User) -> int:
    stmt = (
        update(CalendarFeed)
        .where(CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(stmt).rowcount or 0


def issue_feed(user: User) -> tuple[CalendarFeed, str]:
    """A new secret feed URL token; the old URL stops working."""
    revoke_feeds(user)
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(user_id=user.id, token_hash=_token_hash(token))
    db.session.add(feed)
    db.session.flush()
    return feed, token


def resolve_feed(token: str) -> User | None:
    feed = db.session.scalar(
        select(CalendarFeed).where(CalendarFeed.token_hash == _token_hash(token))
    )
    if feed is None or feed.revoked_at is not None or not feed.user.is_active:
        return None
    now = utcnow()
    if feed.last_used_at is None or now - feed.last_used_at >= LAST_USED_PRECISION:
        feed.last_used_at = now
    return feed.user


def _uid(ref: str, key: str) -> str:
    """A stable, opaque UID: the same event keeps it across fetches (so calendars
    update it in place), and two installations never collide."""
    digest = hmac.new(key.encode(), ref.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{digest}@calendar"


def _alarm(text: str, e: CalendarEvent, before: timedelta) -> Alarm:
    """RFC 5545 display alarm relative to the start; the text is as neutral as the title."""
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", text.format(title=e.title))
    alarm.add("trigger", -before)
    return alarm


def render_ics(user: User, events: list[CalendarEvent], app_url: str, uid_key: str) -> bytes:
    """An RFC 5545 calendar: local times with their zone (VTIMEZONE included),
    cancelled sessions kept as STATUS:CANCELLED so calendars remove them."""
    cal = Calendar()
    # Nothing here names the software or the clinic: a calendar synced to a phone
    # or a third-party service must not reveal what kind of group this is.
    cal.add("prodid", "-//Group calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", _titles(user.language)["calendar"])
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    stamp = utcnow()
    prefs = preferences_for([user.id])[user.id]
    alarms = [(key, before) for key, before in ALARMS if getattr(prefs, key)]
    titles = _titles(user.language)
    for e in events:
        event = Event()
        event.add("uid", _uid(e.ref, uid_key))
        event.add("dtstamp", stamp)
        event.add("dtstart", e.local_start(e.time_zone))
        event.add("dtend", utc_to_local(e.ends_at, e.time_zone))
        event.add("summary", e.title)
        if e.location:
            event.add("location", e.location)
        event.add("status", "CANCELLED" if e.status == "cancelled" else "CONFIRMED")
        if e.updated_at is not None:
            event.add("last-modified", e.updated_at)
        event.add("url", app_url)
        if e.status != "cancelled":
            for key, before in alarms:
                event.add_component(
                    _alarm(titles[f"alarm_{key.removeprefix('session_')}"], e, before)
                )
        cal.add_component(event)
    if events:
        first = min(e.starts_at for e in events).date() - timedelta(days=366)
        last = max(e.ends_at for e in events).date() + timedelta(days=366)
        cal.add_missing_timezones(first_date=first, last_date=last)
    return cal.to_ical()
