"""Instrument scoring: totals, every band boundary, risk items, refused answers."""

from __future__ import annotations

import pytest

from ipt_groups.protocol.instruments import (
    GAD7,
    INSTRUMENTS,
    MOOD,
    PHQ8,
    PHQ9,
    AnswerError,
    Band,
    Instrument,
    instrument_from_dict,
    instrument_to_dict,
    score,
    validate_instrument,
)


def answers_with_total(instrument: Instrument, total: int, **fixed: int) -> dict[str, int]:
    """Answers summing to ``total``, filling items in order (fixed items kept)."""
    answers = {i.key: 0 for i in instrument.items} | fixed
    remaining = total - sum(answers.values())
    for item in instrument.items:
        if item.key in fixed:
            continue
        add = min(instrument.max_answer, remaining)
        answers[item.key] += add
        remaining -= add
    assert remaining == 0
    return answers


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"),
        (14, "moderate"), (15, "moderately_severe"), (19, "moderately_severe"),
        (20, "severe"), (27, "severe"),
    ],
)  # fmt: skip
def test_phq9_bands_at_every_boundary(total: int, band: str) -> None:
    result = score(PHQ9, answers_with_total(PHQ9, total, phq9_9=0) if total <= 24 else
                   answers_with_total(PHQ9, total))  # fmt: skip
    assert (result.total, result.band) == (total, band)


@pytest.mark.parametrize(
    ("total", "band"),
    [(4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
     (15, "severe"), (21, "severe")],
)  # fmt: skip
def test_gad7_bands_at_every_boundary(total: int, band: str) -> None:
    result = score(GAD7, answers_with_total(GAD7, total))
    assert (result.total, result.band, result.risk) == (total, band, False)


@pytest.mark.parametrize(
    ("total", "band"), [(9, "mild"), (10, "moderate"), (20, "severe"), (24, "severe")]
)
def test_phq8_uses_phq9_cut_points(total: int, band: str) -> None:
    assert score(PHQ8, answers_with_total(PHQ8, total)).band == band


def test_phq9_item_9_flags_risk_whatever_the_total() -> None:
    low = score(PHQ9, answers_with_total(PHQ9, 1, phq9_9=1))
    assert low.band == "minimal" and low.risk and low.risk_items == ("phq9_9",)
    high_without = score(PHQ9, answers_with_total(PHQ9, 24, phq9_9=0))
    assert high_without.band == "severe" and not high_without.risk


@pytest.mark.parametrize(
    ("answers", "problem_item"),
    [
        ({"phq9_1": 4}, "phq9_1"),
        ({"phq9_2": -1}, "phq9_2"),
        ({"phq9_3": 1.5}, "phq9_3"),
        ({"phq9_4": True}, "phq9_4"),
        ({"phq9_5": "2"}, "phq9_5"),
        ({"phq9_10": 1}, "phq9_10"),
    ],
)
def test_out_of_range_and_unknown_answers_are_refused(
    answers: dict[str, object], problem_item: str
) -> None:
    full: dict[str, object] = {i.key: 0 for i in PHQ9.items} | answers
    with pytest.raises(AnswerError) as caught:
        score(PHQ9, full)
    assert set(caught.value.problems) == {problem_item}


def test_missing_items_are_named() -> None:
    with pytest.raises(AnswerError) as caught:
        score(PHQ9, {"phq9_1": 1})
    assert set(caught.value.problems) == {f"phq9_{n}" for n in range(2, 10)}


def test_mood_rating_has_no_bands() -> None:
    assert score(MOOD, {"mood": 7}).band is None
    with pytest.raises(AnswerError):
        score(MOOD, {"mood": 11})


def test_shipped_instruments_are_valid_and_round_trip() -> None:
    for instrument in INSTRUMENTS:
        assert validate_instrument(instrument) == [], instrument.key
        assert instrument_from_dict(instrument_to_dict(instrument)) == instrument
        assert all({"en", "es"} <= set(i.text) for i in instrument.items)


def test_local_instrument_rules() -> None:
    gap = Instrument(
        key="local", name="Local scale", items=PHQ8.items, min_answer=0, max_answer=3,
        choices={}, bands=(Band(0, 9, "low"), Band(11, 24, "high")),
        risk_items={"nope": 0}, period={},
    )  # fmt: skip
    problems = validate_instrument(gap)
    assert "Band 'high' should start at 10." in problems
    assert "Risk item 'nope' is not an item." in problems


def test_agendas_cover_every_meeting_kind_in_plain_words() -> None:
    from ipt_groups.protocol.agendas import AGENDAS, AgendaKind

    assert set(AGENDAS) == set(AgendaKind)
    group = (AgendaKind.INITIAL, AgendaKind.MIDDLE, AgendaKind.TERMINATION)
    for kind in group:  # a group session fits its 90 minutes
        assert sum(item.minutes for item in AGENDAS[kind]) == 90, kind
    clinical = ("ipt", "interpersonal", "depress", "phq", "suicid", "psycho")
    for items in AGENDAS.values():
        for item in items:
            words = f"{item.title} {item.guidance}".lower()
            assert not any(w in words for w in clinical), item.title
