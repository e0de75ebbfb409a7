"""Group IPT programme templates, and the rules a custom programme must follow.

The five shipped templates follow the programme table in
``shared/reference/group-ipt.md``. A clinic can add its own through the API; the
same ``validate_*`` functions check them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class Phase(enum.StrEnum):
    INITIAL = "initial"
    MIDDLE = "middle"
    TERMINATION = "termination"


PHASE_ORDER: tuple[Phase, ...] = (Phase.INITIAL, Phase.MIDDLE, Phase.TERMINATION)


class MeetingKind(enum.StrEnum):
    """Individual (one-to-one) meetings around the group sessions."""

    PRE_GROUP = "pre_group"
    MID_PROGRAMME = "mid_programme"
    POST_GROUP = "post_group"
    # The contact some weeks after the last session (``follow_up_weeks``): not part
    # of a template's ``meetings``; created for each member who completed, when
    # the programme has ended (services/follow_up.py).
    FOLLOW_UP = "follow_up"


# The reference's follow-up: about three months after the last session.
DEFAULT_FOLLOW_UP_WEEKS = 13
MAX_FOLLOW_UP_WEEKS = 104


@dataclass(frozen=True)
class IndividualMeeting:
    """A one-to-one meeting with each member, held after group session ``after_session``.

    ``after_session`` is 0 for pre-group meetings (before session 1) and the last
    session's number for a post-group meeting.
    """

    kind: MeetingKind
    after_session: int
    label: str


@dataclass(frozen=True)
class MeasureRule:
    """When an instrument is due.

    ``sessions`` lists group session numbers; ``every_session`` covers them all;
    ``meetings`` lists the individual meeting kinds where it is due.
    """

    instrument: str
    every_session: bool = False
    sessions: tuple[int, ...] = ()
    meetings: tuple[MeetingKind, ...] = ()


@dataclass(frozen=True)
class ReleaseRule:
    """Release a library item to the group at the start or end of a session."""

    item: str
    session: int
    at: str = "start"  # or "end"


@dataclass(frozen=True)
class ProgrammeTemplate:
    key: str
    name: str
    description: str
    group_sessions: int
    session_minutes: int
    phases: Mapping[Phase, tuple[int, ...]]
    meetings: tuple[IndividualMeeting, ...]
    group_size_min: int
    group_size_max: int
    late_join_sessions: int = 2
    measures: tuple[MeasureRule, ...] = field(default_factory=tuple)
    # Empty: the library's own suggestion (each item's release tags) is used.
    releases: tuple[ReleaseRule, ...] = field(default_factory=tuple)
    # Weeks from the last session to the follow-up contact; None: no follow-up.
    follow_up_weeks: int | None = DEFAULT_FOLLOW_UP_WEEKS

    def phase_of(self, session_number: int) -> Phase:
        for phase, numbers in self.phases.items():
            if session_number in numbers:
                return phase
        raise ValueError(f"session {session_number} is not in programme {self.key}")

    @property
    def pre_group_meetings(self) -> tuple[IndividualMeeting, ...]:
        return tuple(m for m in self.meetings if m.kind == MeetingKind.PRE_GROUP)

    def measures_due_at_session(self, session_number: int) -> list[str]:
        return [
            rule.instrument
            for rule in self.measures
            if rule.every_session or session_number in rule.sessions
        ]

    def measures_due_at_meeting(self, kind: MeetingKind) -> list[str]:
        return [rule.instrument for rule in self.measures if kind in rule.meetings]

    @property
    def meeting_kinds(self) -> tuple[MeetingKind, ...]:
        """The kinds of individual meeting a member of this programme has, in
        order, the follow-up included when the programme has one."""
        kinds = tuple(dict.fromkeys(m.kind for m in self.meetings))
        return kinds + ((MeetingKind.FOLLOW_UP,) if self.follow_up_weeks else ())


def span(first: int, last: int) -> tuple[int, ...]:
    return tuple(range(first, last + 1))


def three_phases(
    group_sessions: int, initial_last: int, termination_first: int
) -> dict[Phase, tuple[int, ...]]:
    """Initial 1..initial_last, middle up to termination_first - 1, termination to the end."""
    return {
        Phase.INITIAL: span(1, initial_last),
        Phase.MIDDLE: span(initial_last + 1, termination_first - 1),
        Phase.TERMINATION: span(termination_first, group_sessions),
    }


def default_measures(
    group_sessions: int, meetings: Sequence[IndividualMeeting], *, follow_up: bool = True
) -> tuple[MeasureRule, ...]:
    """The reference's default: a quick mood rating at every group session's
    symptom round; the full PHQ-9 at every individual meeting (pre-group, and mid
    or post where the programme has them), the midpoint (at the mid-group
    meeting where there is one) and the final session, and at the follow-up
    contact (the sustained-change figure needs it)."""
    midpoint = (group_sessions + 1) // 2
    meeting_kinds = tuple(dict.fromkeys(m.kind for m in meetings))  # ordered, unique
    if follow_up:
        meeting_kinds += (MeetingKind.FOLLOW_UP,)
    # A programme with a mid-group meeting re-scores there, one-to-one (where an
    # item-9 answer can be talked through), not also at the group session just
    # before it: one midpoint PHQ-9, not two in a week.
    sessions = (
        (group_sessions,)
        if MeetingKind.MID_PROGRAMME in meeting_kinds
        else (midpoint, group_sessions)
    )
    return (
        MeasureRule("mood", every_session=True),
        MeasureRule("phq9", sessions=sessions, meetings=meeting_kinds),
    )


PRE_GROUP = IndividualMeeting(MeetingKind.PRE_GROUP, 0, "Individual pre-group meeting")


def mid_meeting(after_session: int) -> IndividualMeeting:
    label = "Mid-group individual meeting"
    return IndividualMeeting(MeetingKind.MID_PROGRAMME, after_session, label)


def post_meeting(last_session: int) -> IndividualMeeting:
    return IndividualMeeting(MeetingKind.POST_GROUP, last_session, "Post-group individual meeting")


def _shipped(
    key: str,
    name: str,
    description: str,
    *,
    sessions: int,
    initial_last: int,
    termination_first: int,
    size: tuple[int, int],
    meetings: tuple[IndividualMeeting, ...] = (PRE_GROUP,),
) -> ProgrammeTemplate:
    """A shipped template: 90-minute weekly sessions, three contiguous phases and
    the default measurement schedule."""
    return ProgrammeTemplate(
        key=key,
        name=name,
        description=description,
        group_sessions=sessions,
        session_minutes=90,
        phases=three_phases(sessions, initial_last, termination_first),
        meetings=meetings,
        group_size_min=size[0],
        group_size_max=size[1],
        measures=default_measures(sessions, meetings),
        follow_up_weeks=DEFAULT_FOLLOW_UP_WEEKS,
    )


# The programme table of shared/reference/group-ipt.md. Which individual meetings
# each template has, and why, is said beside it: the WHO Group IPT manual (2016)
# has a short individual meeting with each member around the middle of the group
# (after session 4 of 8: progress on the goal, re-score, adjust the plan) and one
# at the end (after session 8: outcome, gains, warning signs, referral, follow-up
# plan). Formats adapted from that manual keep both; formats whose source has no
# mid-group meeting keep none rather than invent one.
TEMPLATES: tuple[ProgrammeTemplate, ...] = (
    # The manual itself: pre-group, mid-group after session 4, post-group after 8.
    _shipped(
        "who-8", "WHO Group IPT (8 sessions)",
        "WHO field-trial manual (2016): for supervised lay facilitators.",
        sessions=8, initial_last=1, termination_first=8, size=(6, 10),
        meetings=(PRE_GROUP, mid_meeting(4), post_meeting(8)),
    ),
    # StrongMinds-style groups are screened and scored one to one at the start
    # and the end, but the format has no mid-group meeting (progress is reviewed
    # in the group's own middle sessions): pre and post only.
    _shipped(
        "community-12", "Community programme (12 weeks)",
        "Community groups of 8-14 led by lay facilitators.",
        sessions=12, initial_last=4, termination_first=11, size=(8, 14),
        meetings=(PRE_GROUP, post_meeting(12)),
    ),
    # The Uganda trial format: an individual interview before the group and an
    # individual assessment after it; no mid-group meeting in the source.
    _shipped(
        "uganda-16", "16-week programme",
        "Single-sex village groups of 8-12 (Uganda trial format).",
        sessions=16, initial_last=4, termination_first=14, size=(8, 12),
        meetings=(PRE_GROUP, post_meeting(16)),
    ),
    # Adapted from the WHO manual (school-based): its two pre-group meetings (one
    # with a parent), and the manual's mid-group (after session 5 of 10) and
    # post-group meetings.
    _shipped(
        "adolescent-10", "Adolescent programme (10 sessions)",
        "School-based groups of 6-8; two pre-group meetings, one with a parent.",
        sessions=10, initial_last=1, termination_first=10, size=(6, 8),
        meetings=(
            PRE_GROUP,
            IndividualMeeting(MeetingKind.PRE_GROUP, 0, "Pre-group meeting with a parent"),
            mid_meeting(5),
            post_meeting(10),
        ),
    ),
    # Group IPT (Wilfley): a mid-treatment meeting between sessions 10 and 11 and
    # a post-treatment meeting within a week of the last session.
    _shipped(
        "extended-20", "Extended programme (20 sessions)",
        "20 weekly sessions with individual meetings mid-way and after the end.",
        sessions=20, initial_last=5, termination_first=16, size=(6, 12),
        meetings=(
            PRE_GROUP,
            IndividualMeeting(MeetingKind.MID_PROGRAMME, 10, "Mid-programme individual meeting"),
            IndividualMeeting(MeetingKind.POST_GROUP, 20, "Post-group individual meeting"),
        ),
    ),
)  # fmt: skip

TEMPLATES_BY_KEY: Mapping[str, ProgrammeTemplate] = {t.key: t for t in TEMPLATES}


def validate_phase_map(group_sessions: int, phases: Mapping[str, Sequence[int]]) -> list[str]:
    """Problems with a phase map, in words a programme author can act on.

    Every session must be in exactly one phase; each phase needs at least one
    session; initial comes before middle, middle before termination.
    """
    problems: list[str] = []
    unknown = sorted(set(phases) - {p.value for p in Phase})
    if unknown:
        problems.append(f"Unknown phase(s): {', '.join(unknown)}.")
    seen: dict[int, str] = {}
    for phase in PHASE_ORDER:
        numbers = list(phases.get(phase.value, ()))
        if not numbers:
            problems.append(f"The {phase.value} phase has no sessions.")
        for n in numbers:
            if not 1 <= n <= group_sessions:
                problems.append(f"Session {n} is outside 1-{group_sessions}.")
            elif n in seen:
                problems.append(f"Session {n} is in both {seen[n]} and {phase.value}.")
            else:
                seen[n] = phase.value
    missing = [n for n in range(1, group_sessions + 1) if n not in seen]
    if missing:
        problems.append(f"Session(s) {', '.join(map(str, missing))} have no phase.")
    if not problems:
        order = [PHASE_ORDER.index(Phase(seen[n])) for n in range(1, group_sessions + 1)]
        if order != sorted(order):
            problems.append("Phases must run in order: initial, then middle, then termination.")
    return problems


def validate_template(template: ProgrammeTemplate) -> list[str]:
    """Every rule a programme must satisfy (shipped or custom)."""
    problems = validate_phase_map(
        template.group_sessions, {p.value: n for p, n in template.phases.items()}
    )
    if not 1 <= template.group_size_min <= template.group_size_max:
        problems.append("Group size minimum must be at least 1 and not above the maximum.")
    if not 1 <= template.late_join_sessions <= template.group_sessions:
        problems.append(
            "The late-join window must be between 1 (join before the first session only) "
            "and the number of sessions."
        )
    if not template.pre_group_meetings:
        problems.append("A programme needs at least one pre-group meeting (the safety screen).")
    if template.follow_up_weeks is not None and not (
        1 <= template.follow_up_weeks <= MAX_FOLLOW_UP_WEEKS
    ):
        problems.append(
            f"The follow-up must be 1-{MAX_FOLLOW_UP_WEEKS} weeks after the last session (or none)."
        )
    for meeting in template.meetings:
        if meeting.kind == MeetingKind.FOLLOW_UP:
            problems.append(
                f"{meeting.label}: the follow-up is set by follow_up_weeks, not as a meeting."
            )
        if not 0 <= meeting.after_session <= template.group_sessions:
            problems.append(f"{meeting.label}: after_session must be 0-{template.group_sessions}.")
    for rule in template.measures:
        bad = [n for n in rule.sessions if not 1 <= n <= template.group_sessions]
        if bad:
            problems.append(
                f"Measure {rule.instrument} is due at sessions outside the programme: {bad}."
            )
    for rule in template.releases:
        if not 1 <= rule.session <= template.group_sessions or rule.at not in ("start", "end"):
            problems.append(
                f"Reading {rule.item!r}: release at the start or end of a session "
                f"1-{template.group_sessions}."
            )
    return problems


def template_to_dict(template: ProgrammeTemplate) -> dict[str, Any]:
    """The JSON form stored in the database (custom programmes, cohort snapshots)."""
    return {
        "key": template.key,
        "name": template.name,
        "description": template.description,
        "group_sessions": template.group_sessions,
        "session_minutes": template.session_minutes,
        "phases": {p.value: list(n) for p, n in template.phases.items()},
        "meetings": [
            {"kind": m.kind.value, "after_session": m.after_session, "label": m.label}
            for m in template.meetings
        ],
        "group_size_min": template.group_size_min,
        "group_size_max": template.group_size_max,
        "late_join_sessions": template.late_join_sessions,
        "measures": [
            {
                "instrument": r.instrument,
                "every_session": r.every_session,
                "sessions": list(r.sessions),
                "meetings": [k.value for k in r.meetings],
            }
            for r in template.measures
        ],
        "releases": [{"item": r.item, "session": r.session, "at": r.at} for r in template.releases],
        "follow_up_weeks": template.follow_up_weeks,
    }


def _old_snapshot_measures(measures: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A snapshot from before follow-ups: what was due at the pre-group meeting
    (the full PHQ-9) is due at the follow-up too, so its change can be compared."""
    return [
        {**r, "meetings": [*r["meetings"], MeetingKind.FOLLOW_UP.value]}
        if MeetingKind.PRE_GROUP.value in r.get("meetings", ())
        else dict(r)
        for r in measures
    ]


def template_from_dict(data: Mapping[str, Any]) -> ProgrammeTemplate:
    """Inverse of ``template_to_dict`` (the data was validated when it was stored)."""
    if "follow_up_weeks" not in data:
        data = {**data, "measures": _old_snapshot_measures(data["measures"])}
    return ProgrammeTemplate(
        key=data["key"],
        name=data["name"],
        description=data.get("description", ""),
        group_sessions=data["group_sessions"],
        session_minutes=data["session_minutes"],
        phases={Phase(p): tuple(n) for p, n in data["phases"].items()},
        meetings=tuple(
            IndividualMeeting(MeetingKind(m["kind"]), m["after_session"], m["label"])
            for m in data["meetings"]
        ),
        group_size_min=data["group_size_min"],
        group_size_max=data["group_size_max"],
        late_join_sessions=data["late_join_sessions"],
        measures=tuple(
            MeasureRule(
                r["instrument"],
                every_session=r.get("every_session", False),
                sessions=tuple(r.get("sessions", ())),
                meetings=tuple(MeetingKind(k) for k in r.get("meetings", ())),
            )
            for r in data["measures"]
        ),
        releases=tuple(
            ReleaseRule(r["item"], r["session"], r.get("at", "start"))
            for r in data.get("releases", ())
        ),
        # Snapshots stored before follow-ups existed have no key: the default
        # applies (an explicit None means the programme has no follow-up).
        follow_up_weeks=data.get("follow_up_weeks", DEFAULT_FOLLOW_UP_WEEKS),
    )
