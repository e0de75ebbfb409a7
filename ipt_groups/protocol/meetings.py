"""Guides for the individual meetings: what a facilitator covers one to one.

Written in our own plain words for lay facilitators, following the individual
meetings of the WHO Group IPT manual (2016) summarised in
shared/reference/group-ipt.md: before the group (pre-group), around its middle
(mid-group), after its last session (post-group), and the follow-up contact
some weeks later. Each item is in English and Spanish; the guide is shown in the
reader's language. The measures due at each meeting come from the programme
(``ProgrammeTemplate.measures_due_at_meeting``), not from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ipt_groups.protocol.agendas import AgendaItem, ItemKind
from ipt_groups.protocol.languages import DEFAULT_LANGUAGE
from ipt_groups.protocol.programmes import MeetingKind


@dataclass(frozen=True)
class GuideItem:
    kind: ItemKind
    minutes: int
    title: Mapping[str, str]  # language -> text
    guidance: Mapping[str, str]

    def in_language(self, language: str) -> AgendaItem:
        lang = language if language in self.title else DEFAULT_LANGUAGE
        return AgendaItem(
            title=self.title[lang], guidance=self.guidance[lang], minutes=self.minutes,
            kind=self.kind,
        )  # fmt: skip


def _g(kind: ItemKind, minutes: int, en: tuple[str, str], es: tuple[str, str]) -> GuideItem:
    return GuideItem(kind, minutes, {"en": en[0], "es": es[0]}, {"en": en[1], "es": es[1]})


K = ItemKind

GUIDES: Mapping[MeetingKind, tuple[GuideItem, ...]] = {
    MeetingKind.PRE_GROUP: (
        _g(K.CHECK_IN, 10,
           ("Symptoms review",
            "Explain that this meeting is private. Go through the questionnaire together "
            "and record every answer."),
           ("Repaso de síntomas",
            "Explique que esta reunión es privada. Recorran juntos el cuestionario y anote "
            "cada respuesta.")),
        _g(K.PSYCHOEDUCATION, 10,
           ("Link symptoms to relationships",
            "Explain that low mood is common, is not their fault, and often follows "
            "changes with the people around us. Ask when it started and what was "
            "happening then."),
           ("Relacionar síntomas y relaciones",
            "Explique que el bajo estado de ánimo es frecuente, no es culpa suya y suele "
            "seguir a cambios con las personas cercanas. Pregunte cuándo empezó y qué "
            "pasaba entonces.")),
        _g(K.PROBLEM_AREA_WORK, 15,
           ("Interpersonal inventory",
            "Ask who the important people in their life are: who helps, who is hard to be "
            "with, and what has changed recently."),
           ("Inventario interpersonal",
            "Pregunte quiénes son las personas importantes en su vida: quién ayuda, con "
            "quién es difícil estar y qué ha cambiado hace poco.")),
        _g(K.PROBLEM_AREA_WORK, 5,
           ("Choose the problem area",
            "Agree on one (at most two) of grief, disputes, life changes or loneliness."),
           ("Elegir el área de trabajo",
            "Acuerden una (como mucho dos): duelo, conflictos, cambios de vida o soledad.")),
        _g(K.PROBLEM_AREA_WORK, 5,
           ("Goals",
            "Agree one goal for the group in the member's own words."),
           ("Objetivos",
            "Acuerden un objetivo para el grupo con las palabras de la persona.")),
        _g(K.CLOSING, 5,
           ("Group rules",
            "Explain confidentiality, attendance and what the group will do; give the date "
            "and place of the first session."),
           ("Normas del grupo",
            "Explique la confidencialidad, la asistencia y lo que hará el grupo; dé la "
            "fecha y el lugar de la primera sesión.")),
        _g(K.CHECK_IN, 5,
           ("Safety check",
            "Ask about thoughts of being better off dead or of self-harm. If the answer is "
            "yes, follow the safety steps on screen before going on."),
           ("Comprobación de seguridad",
            "Pregunte por pensamientos de que estaría mejor muerto o de hacerse daño. Si "
            "la respuesta es sí, siga los pasos de seguridad en pantalla antes de seguir.")),
    ),
    MeetingKind.MID_PROGRAMME: (
        _g(K.REVIEW_TASK, 15,
           ("Progress on the goal",
            "Ask what has changed since the group began and how far they are with their "
            "goal. Praise every effort."),
           ("Avance hacia el objetivo",
            "Pregunte qué ha cambiado desde que empezó el grupo y cuánto ha avanzado en su "
            "objetivo. Valore cada esfuerzo.")),
        _g(K.CHECK_IN, 10,
           ("Re-score",
            "Repeat the questionnaire and compare it with the pre-group meeting."),
           ("Volver a puntuar",
            "Repita el cuestionario y compárelo con la reunión previa al grupo.")),
        _g(K.PROBLEM_AREA_WORK, 15,
           ("Adjust the plan",
            "If little has changed, agree a smaller step or a different focus for the "
            "sessions left. Tell the supervisor about anyone who is worse."),
           ("Ajustar el plan",
            "Si ha cambiado poco, acuerden un paso más pequeño u otro enfoque para las "
            "sesiones que quedan. Avise a la supervisión de quien esté peor.")),
    ),
    MeetingKind.POST_GROUP: (
        _g(K.CHECK_IN, 10,
           ("Outcome measure",
            "Complete the questionnaire and compare it with the start."),
           ("Medida de resultado",
            "Complete el cuestionario y compárelo con el inicio.")),
        _g(K.REVIEW_TASK, 10,
           ("Gains",
            "Go over what has changed and what they did that helped."),
           ("Logros",
            "Repasen lo que ha cambiado y lo que hizo la persona que le ayudó.")),
        _g(K.PSYCHOEDUCATION, 10,
           ("Relapse warning signs",
            "Name their early warning signs, what they will do and who they can turn to if "
            "low mood comes back."),
           ("Señales de aviso de recaída",
            "Nombren sus primeras señales de aviso, qué hará y a quién puede acudir si "
            "vuelve el bajo estado de ánimo.")),
        _g(K.CLOSING, 5,
           ("Referral",
            "Anyone still unwell (a score of 10 or more) is referred on; record where."),
           ("Derivación",
            "Quien siga mal (una puntuación de 10 o más) se deriva; anote adónde.")),
        _g(K.CLOSING, 5,
           ("Follow-up plan",
            "Agree how and when you will be in touch for the follow-up."),
           ("Plan de seguimiento",
            "Acuerden cómo y cuándo se pondrán en contacto para el seguimiento.")),
    ),
    MeetingKind.FOLLOW_UP: (
        _g(K.CHECK_IN, 10,
           ("Re-score",
            "Complete the questionnaire and compare it with the end of the group."),
           ("Volver a puntuar",
            "Complete el cuestionario y compárelo con el final del grupo.")),
        _g(K.REVIEW_TASK, 10,
           ("How things have been",
            "Ask how things have been since the group ended, with the people who matter "
            "and with their warning signs."),
           ("Cómo han ido las cosas",
            "Pregunte cómo han ido las cosas desde que terminó el grupo, con las personas "
            "importantes y con sus señales de aviso.")),
        _g(K.CLOSING, 5,
           ("Referral if needed",
            "If the score is 10 or more, or has risen since the end, refer on and tell the "
            "supervisor."),
           ("Derivación si hace falta",
            "Si la puntuación es 10 o más, o ha subido desde el final, derive y avise a la "
            "supervisión.")),
    ),
}  # fmt: skip


def guide_for(kind: MeetingKind, language: str) -> tuple[AgendaItem, ...]:
    """The meeting's guide in ``language`` (English when it is not written in it)."""
    return tuple(item.in_language(language) for item in GUIDES[kind])
