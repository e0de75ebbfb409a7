"""The middle phase's work on each problem area, and the techniques used in it.

In our own plain words, after the steps the WHO Group IPT manual (field-trial
version 1.0, 2016) gives for each problem area in the middle sessions. Texts are
kept by language, like the instruments' items, so the runner shows the guidance
in the facilitator's own language. Step keys are stable: the work recorded at a
session names the steps it covered, and the next session suggests the step that
follows (``next_step``).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass

LANGUAGES = ("en", "es")


class ProblemArea(enum.StrEnum):
    GRIEF = "grief"
    DISPUTES = "disputes"
    LIFE_CHANGES = "life_changes"
    LONELINESS = "loneliness"


class Technique(enum.StrEnum):
    COMMUNICATION_ANALYSIS = "communication_analysis"
    ROLE_PLAY = "role_play"
    PROBLEM_SOLVING = "problem_solving"
    EXPLORING_SUPPORT = "exploring_support"
    GRIEF_WORK = "grief_work"
    PSYCHOEDUCATION = "psychoeducation"
    TASK_REVIEW = "task_review"


T = Technique

TECHNIQUE_LABELS: Mapping[Technique, Mapping[str, str]] = {
    T.COMMUNICATION_ANALYSIS: {"en": "Communication analysis", "es": "Análisis de la comunicación"},
    T.ROLE_PLAY: {"en": "Role play", "es": "Juego de roles"},
    T.PROBLEM_SOLVING: {"en": "Problem solving", "es": "Resolución de problemas"},
    T.EXPLORING_SUPPORT: {"en": "Exploring support", "es": "Explorar el apoyo"},
    T.GRIEF_WORK: {"en": "Grief work", "es": "Trabajo del duelo"},
    T.PSYCHOEDUCATION: {"en": "Psychoeducation", "es": "Psicoeducación"},
    T.TASK_REVIEW: {"en": "Task review", "es": "Revisión de la tarea"},
}  # fmt: skip

AREA_LABELS: Mapping[ProblemArea, Mapping[str, str]] = {
    ProblemArea.GRIEF: {"en": "Grief", "es": "Duelo"},
    ProblemArea.DISPUTES: {"en": "Disputes", "es": "Conflictos"},
    ProblemArea.LIFE_CHANGES: {"en": "Life changes", "es": "Cambios de vida"},
    ProblemArea.LONELINESS: {"en": "Loneliness and isolation", "es": "Soledad y aislamiento"},
}


@dataclass(frozen=True)
class Step:
    key: str  # "<area>.<name>", stable: recorded work refers to it
    title: Mapping[str, str]  # by language code
    guidance: Mapping[str, str]
    techniques: tuple[Technique, ...]  # the techniques that usually carry this step


def _step(key: str, techniques: tuple[Technique, ...], en: tuple[str, str],
          es: tuple[str, str]) -> Step:  # fmt: skip
    return Step(key, {"en": en[0], "es": es[0]}, {"en": en[1], "es": es[1]}, techniques)


# In the order the manual works through them; a member usually needs more than
# one session on a step, so the order is a suggestion, never a gate.
STEPS: Mapping[ProblemArea, tuple[Step, ...]] = {
    ProblemArea.GRIEF: (
        _step("grief.story", (T.GRIEF_WORK, T.COMMUNICATION_ANALYSIS),
              ("The story of the death",
               "Ask the member to tell the group about the person who died: who they were, "
               "how and when they died, what happened before and after."),
              ("La historia de la muerte",
               "Pida a la persona que cuente al grupo quién era la persona que murió, cómo y "
               "cuándo murió, y qué pasó antes y después.")),
        _step("grief.feelings", (T.GRIEF_WORK, T.PSYCHOEDUCATION),
              ("Feelings about the loss",
               "Help them name and share their feelings: sadness, anger, guilt, the good and "
               "the hard memories. Explain that all of these are normal after a loss."),
              ("Sentimientos sobre la pérdida",
               "Ayúdele a nombrar y compartir sus sentimientos: tristeza, enojo, culpa, los "
               "buenos y los malos recuerdos. Explique que todo esto es normal tras una pérdida.")),
        _step("grief.new_connections", (T.EXPLORING_SUPPORT, T.PROBLEM_SOLVING),
              ("New relationships and activities",
               "Look together for people and activities that can fill some of the space left: "
               "old friends to see again, new people, things they used to enjoy."),
              ("Nuevas relaciones y actividades",
               "Busquen juntos personas y actividades que llenen parte del vacío: amistades "
               "antiguas, personas nuevas, cosas que antes le gustaban.")),
    ),
    ProblemArea.DISPUTES: (
        _step("disputes.stage", (T.COMMUNICATION_ANALYSIS,),
              ("The stage of the dispute",
               "Find out who the dispute is with, what each wants, and its stage: still "
               "talking about it (renegotiation), stuck (impasse), or ending (dissolution)."),
              ("La etapa del conflicto",
               "Averigüe con quién es el conflicto, qué quiere cada uno y en qué etapa está: "
               "todavía lo hablan (renegociación), están estancados (impasse) o se termina "
               "(disolución).")),
        _step("disputes.options", (T.PROBLEM_SOLVING, T.EXPLORING_SUPPORT),
              ("Options",
               "With the group, list what the member could do, the good and bad of each "
               "option, and choose one to try this week."),
              ("Opciones",
               "Con el grupo, hagan una lista de lo que la persona podría hacer, lo bueno y lo "
               "malo de cada opción, y elijan una para probar esta semana.")),
        _step("disputes.practice", (T.ROLE_PLAY, T.COMMUNICATION_ANALYSIS),
              ("Practising the conversation",
               "Look at how they talk with that person now, then role play a calmer, clearer "
               "way to say what they need. Swap roles and discuss."),
              ("Practicar la conversación",
               "Vean cómo habla ahora con esa persona y luego practiquen con un juego de roles "
               "una forma más tranquila y clara de decir lo que necesita. Cambien los papeles y "
               "coméntenlo.")),
    ),
    ProblemArea.LIFE_CHANGES: (
        _step("life_changes.old_role", (T.COMMUNICATION_ANALYSIS, T.PSYCHOEDUCATION),
              ("The old life",
               "Talk about life before the change: what was good about it and what was hard. "
               "It is normal to miss parts of it."),
              ("La vida de antes",
               "Hablen de la vida antes del cambio: lo que era bueno y lo que era difícil. Es "
               "normal echar de menos partes de ella.")),
        _step("life_changes.new_role", (T.PROBLEM_SOLVING, T.COMMUNICATION_ANALYSIS),
              ("The new life",
               "Talk about life now: what is hard, and what is good or could become good "
               "about it."),
              ("La vida de ahora",
               "Hablen de la vida ahora: lo que es difícil y lo que es bueno o podría llegar a "
               "serlo.")),
        _step("life_changes.skills_support", (T.EXPLORING_SUPPORT, T.ROLE_PLAY),
              ("Skills and support for the new life",
               "Find the skills they need and the people who can help with the new life, and "
               "plan a first step to use them."),
              ("Habilidades y apoyo para la nueva vida",
               "Busquen las habilidades que necesita y las personas que pueden ayudarle con la "
               "nueva vida, y planeen un primer paso para usarlas.")),
    ),
    ProblemArea.LONELINESS: (
        _step("loneliness.past", (T.COMMUNICATION_ANALYSIS, T.EXPLORING_SUPPORT),
              ("Past relationships",
               "Ask about the good and the difficult relationships they have had: friends, "
               "family, neighbours, people at work."),
              ("Relaciones pasadas",
               "Pregunte por las relaciones buenas y difíciles que ha tenido: amistades, "
               "familia, vecinos, compañeros de trabajo.")),
        _step("loneliness.patterns", (T.COMMUNICATION_ANALYSIS, T.PSYCHOEDUCATION),
              ("Patterns",
               "Look together for what tends to happen in their relationships, what keeps "
               "people away and what brings them closer."),
              ("Patrones",
               "Busquen juntos lo que suele pasar en sus relaciones, lo que aleja a las personas "
               "y lo que las acerca.")),
        _step("loneliness.new_contacts", (T.ROLE_PLAY, T.PROBLEM_SOLVING),
              ("Making new contacts",
               "Plan one small way to meet or reach out to someone, and practise it in the "
               "group first (the group itself is a place to try)."),
              ("Hacer nuevos contactos",
               "Planeen una forma pequeña de conocer o buscar a alguien, y practíquenla primero "
               "en el grupo (el propio grupo es un lugar para probar).")),
    ),
}  # fmt: skip

STEP_KEYS: Mapping[str, tuple[ProblemArea, Step]] = {
    step.key: (area, step) for area, steps in STEPS.items() for step in steps
}


def text(texts: Mapping[str, str], language: str) -> str:
    return texts.get(language) or texts["en"]


def steps_for(area: str) -> tuple[Step, ...]:
    try:
        return STEPS[ProblemArea(area)]
    except ValueError:  # an area this catalogue has no steps for
        return ()


def next_step(area: str, done: Collection[str]) -> Step | None:
    """The first step of the area not yet worked on; when all have been, the
    last one (that work goes on: new people, new life). None for no area."""
    steps = steps_for(area)
    if not steps:
        return None
    return next((s for s in steps if s.key not in done), steps[-1])
