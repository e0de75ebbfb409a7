"""Symptom measures as data: items, answer scale, scoring bands and risk items.

PHQ-9, PHQ-8 and GAD-7 follow Kroenke, Spitzer and Williams (2001) and Spitzer et
al. (2006): every item is answered 0-3 for the last two weeks, the total is the
sum, and the bands are the published cut-points. PHQ-9 item 9 above 0 is a risk
flag whatever the total. A clinic can add a locally validated instrument with the
same structure (``instrument_from_dict``), so no code path is specific to PHQ-9.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Band:
    low: int
    high: int
    label: str  # a stable key: minimal, mild, moderate, moderately_severe, severe


@dataclass(frozen=True)
class Item:
    key: str
    text: Mapping[str, str]  # by language code


@dataclass(frozen=True)
class Instrument:
    key: str
    name: str
    items: tuple[Item, ...]
    min_answer: int
    max_answer: int
    choices: Mapping[str, tuple[str, ...]]  # answer labels by language; may be empty
    bands: tuple[Band, ...]
    # item key -> the answer above which the item flags risk
    risk_items: Mapping[str, int]
    period: Mapping[str, str]

    @property
    def max_total(self) -> int:
        return self.max_answer * len(self.items)


@dataclass(frozen=True)
class Score:
    total: int
    band: str | None
    risk_items: tuple[str, ...]  # keys of items whose answer flags risk

    @property
    def risk(self) -> bool:
        return bool(self.risk_items)


class AnswerError(ValueError):
    """Answers that cannot be scored; ``problems`` maps item keys to messages."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


def score(instrument: Instrument, answers: Mapping[str, Any]) -> Score:
    """Total, band and risk flags; every item must be answered within the scale."""
    problems: dict[str, str] = {}
    keys = [item.key for item in instrument.items]
    for key in keys:
        value = answers.get(key)
        if value is None:
            problems[key] = "Answer this item."
        elif isinstance(value, bool) or not isinstance(value, int):
            problems[key] = "Answer with a whole number."
        elif not instrument.min_answer <= value <= instrument.max_answer:
            problems[key] = f"Answer {instrument.min_answer}-{instrument.max_answer}."
    for key in answers:
        if key not in keys:
            problems[key] = f"{instrument.name} has no item {key!r}."
    if problems:
        raise AnswerError(problems)
    total = sum(int(answers[k]) for k in keys)
    band = next((b.label for b in instrument.bands if b.low <= total <= b.high), None)
    flagged = tuple(k for k, above in instrument.risk_items.items() if int(answers[k]) > above)
    return Score(total=total, band=band, risk_items=flagged)


FREQUENCY = {
    "en": ("Not at all", "Several days", "More than half the days", "Nearly every day"),
    "es": ("Nunca", "Varios días", "Más de la mitad de los días", "Casi todos los días"),
}
TWO_WEEKS = {
    "en": "Over the last 2 weeks, how often have you been bothered by any of the following?",
    "es": "Durante las últimas 2 semanas, ¿con qué frecuencia le han molestado los "
    "siguientes problemas?",
}

PHQ_BANDS = (
    Band(0, 4, "minimal"),
    Band(5, 9, "mild"),
    Band(10, 14, "moderate"),
    Band(15, 19, "moderately_severe"),
    Band(20, 27, "severe"),
)

_PHQ_ITEMS = (
    ("Little interest or pleasure in doing things",
     "Poco interés o placer en hacer cosas"),
    ("Feeling down, depressed, or hopeless",
     "Se ha sentido decaído(a), deprimido(a) o sin esperanzas"),
    ("Trouble falling or staying asleep, or sleeping too much",
     "Ha tenido dificultad para quedarse o permanecer dormido(a), o ha dormido demasiado"),
    ("Feeling tired or having little energy",
     "Se ha sentido cansado(a) o con poca energía"),
    ("Poor appetite or overeating",
     "Sin apetito o ha comido en exceso"),
    ("Feeling bad about yourself, or that you are a failure or have let yourself or your "
     "family down",
     "Se ha sentido mal con usted mismo(a), o que es un fracaso o que ha quedado mal con "
     "usted mismo(a) o con su familia"),
    ("Trouble concentrating on things, such as reading the newspaper or watching television",
     "Ha tenido dificultad para concentrarse en ciertas actividades, tales como leer el "
     "periódico o ver la televisión"),
    ("Moving or speaking so slowly that other people could have noticed, or the opposite: "
     "being so fidgety or restless that you have been moving around a lot more than usual",
     "¿Se ha movido o hablado tan lento que otras personas podrían haberlo notado? O lo "
     "contrario: muy inquieto(a) o agitado(a), moviéndose mucho más de lo normal"),
    ("Thoughts that you would be better off dead, or of hurting yourself in some way",
     "Pensamientos de que estaría mejor muerto(a) o de lastimarse de alguna manera"),
)  # fmt: skip

_GAD_ITEMS = (
    ("Feeling nervous, anxious, or on edge",
     "Se ha sentido nervioso(a), ansioso(a) o con los nervios de punta"),
    ("Not being able to stop or control worrying",
     "No ha sido capaz de parar o controlar su preocupación"),
    ("Worrying too much about different things",
     "Se ha preocupado demasiado por motivos diferentes"),
    ("Trouble relaxing",
     "Ha tenido dificultad para relajarse"),
    ("Being so restless that it is hard to sit still",
     "Se ha sentido tan inquieto(a) que no ha podido quedarse quieto(a)"),
    ("Becoming easily annoyed or irritable",
     "Se ha molestado o irritado fácilmente"),
    ("Feeling afraid, as if something awful might happen",
     "Ha tenido miedo de que algo terrible fuera a pasar"),
)  # fmt: skip


def _items(prefix: str, texts: Sequence[tuple[str, str]]) -> tuple[Item, ...]:
    return tuple(
        Item(f"{prefix}_{n}", {"en": en, "es": es}) for n, (en, es) in enumerate(texts, start=1)
    )


PHQ9 = Instrument(
    key="phq9",
    name="PHQ-9",
    items=_items("phq9", _PHQ_ITEMS),
    min_answer=0,
    max_answer=3,
    choices=FREQUENCY,
    bands=PHQ_BANDS,
    risk_items={"phq9_9": 0},
    period=TWO_WEEKS,
)

PHQ8 = Instrument(
    key="phq8",
    name="PHQ-8",
    items=_items("phq8", _PHQ_ITEMS[:8]),
    min_answer=0,
    max_answer=3,
    choices=FREQUENCY,
    bands=(*PHQ_BANDS[:4], Band(20, 24, "severe")),
    risk_items={},
    period=TWO_WEEKS,
)

GAD7 = Instrument(
    key="gad7",
    name="GAD-7",
    items=_items("gad7", _GAD_ITEMS),
    min_answer=0,
    max_answer=3,
    choices=FREQUENCY,
    bands=(Band(0, 4, "minimal"), Band(5, 9, "mild"), Band(10, 14, "moderate"),
           Band(15, 21, "severe")),
    risk_items={},
    period=TWO_WEEKS,
)  # fmt: skip

MOOD = Instrument(
    key="mood",
    name="Mood rating",
    items=(Item("mood", {"en": "How has your mood been this week? 0 very bad, 10 very good",
                         "es": "¿Cómo ha estado su ánimo esta semana? 0 muy mal, 10 muy bien"}),),
    min_answer=0,
    max_answer=10,
    choices={},
    bands=(),
    risk_items={},
    period={"en": "This week", "es": "Esta semana"},
)  # fmt: skip

INSTRUMENTS: tuple[Instrument, ...] = (PHQ9, PHQ8, GAD7, MOOD)
INSTRUMENTS_BY_KEY: Mapping[str, Instrument] = {i.key: i for i in INSTRUMENTS}


def validate_instrument(instrument: Instrument) -> list[str]:
    """Rules for a clinic's own instrument: bands cover 0..max total without gaps
    or overlaps, item keys are unique, risk items exist."""
    problems: list[str] = []
    keys = [i.key for i in instrument.items]
    if not keys:
        problems.append("An instrument needs at least one item.")
    if len(set(keys)) != len(keys):
        problems.append("Item keys must be unique.")
    if not 0 <= instrument.min_answer < instrument.max_answer <= 100:
        problems.append("Answers must run from min_answer to a larger max_answer (at most 100).")
    for key, above in instrument.risk_items.items():
        if key not in keys:
            problems.append(f"Risk item {key!r} is not an item.")
        elif not instrument.min_answer <= above < instrument.max_answer:
            # A threshold the scale cannot exceed would never flag anyone.
            problems.append(
                f"Risk item {key!r}: the threshold must be from {instrument.min_answer} "
                f"to {instrument.max_answer - 1}."
            )
    if instrument.bands:
        expected = instrument.min_answer * len(keys)
        for band in sorted(instrument.bands, key=lambda b: b.low):
            if band.low != expected or band.high < band.low:
                problems.append(f"Band {band.label!r} should start at {expected}.")
                break
            expected = band.high + 1
        else:
            if expected != instrument.max_total + 1:
                problems.append(f"The bands must end at the maximum total, {instrument.max_total}.")
    return problems


def instrument_to_dict(instrument: Instrument) -> dict[str, Any]:
    return {
        "key": instrument.key,
        "name": instrument.name,
        "items": [{"key": i.key, "text": dict(i.text)} for i in instrument.items],
        "min_answer": instrument.min_answer,
        "max_answer": instrument.max_answer,
        "choices": {lang: list(labels) for lang, labels in instrument.choices.items()},
        "bands": [{"low": b.low, "high": b.high, "label": b.label} for b in instrument.bands],
        "risk_items": dict(instrument.risk_items),
        "period": dict(instrument.period),
    }


def instrument_from_dict(data: Mapping[str, Any]) -> Instrument:
    return Instrument(
        key=data["key"],
        name=data["name"],
        items=tuple(Item(i["key"], dict(i["text"])) for i in data["items"]),
        min_answer=data["min_answer"],
        max_answer=data["max_answer"],
        choices={lang: tuple(labels) for lang, labels in data.get("choices", {}).items()},
        bands=tuple(Band(b["low"], b["high"], b["label"]) for b in data.get("bands", ())),
        risk_items=dict(data.get("risk_items", {})),
        period=dict(data.get("period", {})),
    )
