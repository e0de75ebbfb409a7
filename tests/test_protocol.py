"""Programme templates and calendar arithmetic (pure functions, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from ipt_groups.protocol.programmes import (
    TEMPLATES,
    TEMPLATES_BY_KEY,
    MeetingKind,
    Phase,
    validate_phase_map,
    validate_template,
)
from ipt_groups.protocol.recurrence import (
    first_meeting_date,
    local_to_utc,
    utc_to_local,
    weekly_dates,
)


def test_the_five_reference_programmes_ship_and_are_valid() -> None:
    assert set(TEMPLATES_BY_KEY) == {
        "who-8",
        "community-12",
        "uganda-16",
        "adolescent-10",
        "extended-20",
    }
    for template in TEMPLATES:
        assert validate_template(template) == [], template.key


@pytest.mark.parametrize(
    ("key", "sessions", "initial", "termination", "size"),
    [
        ("who-8", 8, [1], [8], (6, 10)),
        ("community-12", 12, [1, 2, 3, 4], [11, 12], (8, 14)),
        ("uganda-16", 16, [1, 2, 3, 4], [14, 15, 16], (8, 12)),
        ("adolescent-10", 10, [1], [10], (6, 8)),
        ("extended-20", 20, [1, 2, 3, 4, 5], [16, 17, 18, 19, 20], (6, 12)),
    ],
)
def test_phases_and_sizes_follow_the_reference(
    key: str, sessions: int, initial: list[int], termination: list[int], size: tuple[int, int]
) -> None:
    t = TEMPLATES_BY_KEY[key]
    assert t.group_sessions == sessions
    assert [n for n in range(1, sessions + 1) if t.phase_of(n) == Phase.INITIAL] == initial
    assert [n for n in range(1, sessions + 1) if t.phase_of(n) == Phase.TERMINATION] == termination
    assert (t.group_size_min, t.group_size_max) == size
    assert t.late_join_sessions == 2


def test_individual_meetings_of_the_special_formats() -> None:
    adolescent = TEMPLATES_BY_KEY["adolescent-10"]
    assert len(adolescent.pre_group_meetings) == 2
    assert "parent" in adolescent.pre_group_meetings[1].label
    extended = TEMPLATES_BY_KEY["extended-20"]
    kinds = {(m.kind, m.after_session) for m in extended.meetings}
    assert kinds == {
        (MeetingKind.PRE_GROUP, 0),
        (MeetingKind.MID_PROGRAMME, 10),  # between sessions 10 and 11
        (MeetingKind.POST_GROUP, 20),
    }


def test_default_measurement_schedule() -> None:
    who = TEMPLATES_BY_KEY["who-8"]
    assert who.measures_due_at_meeting(MeetingKind.PRE_GROUP) == ["phq9"]
    assert who.measures_due_at_session(1) == ["mood"]
    # The midpoint PHQ-9 is taken at the mid-group meeting after session 4, not
    # also at session 4; the final session re-scores in the group.
    assert who.measures_due_at_session(4) == ["mood"]
    assert who.measures_due_at_meeting(MeetingKind.MID_PROGRAMME) == ["phq9"]
    assert who.measures_due_at_session(8) == ["mood", "phq9"]  # final session
    community = TEMPLATES_BY_KEY["community-12"]  # no mid-group meeting: session 6
    assert community.measures_due_at_session(6) == ["mood", "phq9"]
    extended = TEMPLATES_BY_KEY["extended-20"]
    assert extended.measures_due_at_meeting(MeetingKind.MID_PROGRAMME) == ["phq9"]
    assert extended.measures_due_at_meeting(MeetingKind.POST_GROUP) == ["phq9"]


@pytest.mark.parametrize(
    ("phases", "problem"),
    [
        (
            {"initial": [1], "middle": [2, 3, 4, 5, 6], "termination": [8]},
            "Session(s) 7 have no phase",
        ),
        (
            {"initial": [1, 2], "middle": [2, 3, 4, 5, 6, 7], "termination": [8]},
            "Session 2 is in both",
        ),
        (
            {"initial": [1], "middle": [2, 3, 4, 5, 6, 7], "termination": [8, 9]},
            "Session 9 is outside 1-8",
        ),
        (
            {"initial": [1], "middle": list(range(2, 9)), "termination": []},
            "termination phase has no",
        ),
        ({"initial": [8], "middle": list(range(2, 8)), "termination": [1]}, "must run in order"),
        (
            {"initial": [1], "middle": list(range(2, 8)), "termination": [8], "extra": [9]},
            "Unknown phase",
        ),
    ],
)
def test_phase_map_must_cover_every_session_exactly_once(
    phases: dict[str, list[int]], problem: str
) -> None:
    problems = validate_phase_map(8, phases)
    assert any(problem in p for p in problems), problems


def test_a_valid_phase_map_has_no_problems() -> None:
    assert (
        validate_phase_map(8, {"initial": [1], "middle": list(range(2, 8)), "termination": [8]})
        == []
    )


def test_who_8_weekly_dates_from_a_start_date() -> None:
    # Start date Monday 2 March 2026; the group meets on Thursdays.
    first = first_meeting_date(date(2026, 3, 2), weekday=3)
    assert first == date(2026, 3, 5)
    assert weekly_dates(first, 8) == [
        date(2026, 3, 5), date(2026, 3, 12), date(2026, 3, 19), date(2026, 3, 26),
        date(2026, 4, 2), date(2026, 4, 9), date(2026, 4, 16), date(2026, 4, 23),
    ]  # fmt: skip
    assert first_meeting_date(date(2026, 3, 5), weekday=3) == date(2026, 3, 5)  # same day counts


def test_a_holiday_pushes_the_rest_of_the_series_back_a_week() -> None:
    first = date(2026, 3, 5)
    dates = weekly_dates(first, 8, skipped={date(2026, 4, 2)})
    assert dates[:4] == [date(2026, 3, 5), date(2026, 3, 12), date(2026, 3, 19), date(2026, 3, 26)]
    assert dates[4:] == [date(2026, 4, 9), date(2026, 4, 16), date(2026, 4, 23), date(2026, 4, 30)]


@pytest.mark.parametrize(
    ("zone", "first", "utc_hours"),
    [
        # New York: EST (UTC-5) until 8 March 2026, then EDT (UTC-4).
        ("America/New_York", date(2026, 3, 1), [22, 21, 21]),
        # London: GMT until 29 March 2026, then BST (UTC+1).
        ("Europe/London", date(2026, 3, 22), [17, 16, 16]),
        # And back in autumn: BST until 25 October 2026.
        ("Europe/London", date(2026, 10, 18), [16, 17, 17]),
    ],
)
def test_a_17_00_session_stays_at_17_00_across_dst(
    zone: str, first: date, utc_hours: list[int]
) -> None:
    for day, utc_hour in zip(weekly_dates(first, 3), utc_hours, strict=True):
        instant = local_to_utc(day, time(17, 0), zone)
        assert instant.tzinfo == UTC
        assert instant.hour == utc_hour, (day, instant)
        local = utc_to_local(instant, zone)
        assert (local.date(), local.hour, local.minute) == (day, 17, 0)


def test_times_in_the_spring_gap_move_forward_and_ambiguous_times_take_the_first() -> None:
    # 02:30 does not exist in New York on 8 March 2026: it reads as 03:30 EDT.
    gap = local_to_utc(date(2026, 3, 8), time(2, 30), "America/New_York")
    assert gap == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert utc_to_local(gap, "America/New_York").hour == 3
    # 01:30 happens twice in London on 25 October 2026: the first is BST.
    ambiguous = local_to_utc(date(2026, 10, 25), time(1, 30), "Europe/London")
    assert ambiguous == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
