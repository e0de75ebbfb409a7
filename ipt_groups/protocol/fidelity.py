"""Fidelity checklists: what a session of each phase should have contained.

Written in our own words from the session structure of the WHO Group IPT
manual (2016) as summarised in shared/reference/group-ipt.md: the initial
session sets the group up, the middle sessions follow the same round (mood,
last week's task, mood linked to events with people, each member's problem
area, a new task), and the ending re-scores, reviews and plans for relapse.
Checked against published descriptions of the manual's 8-session format, e.g.
the session table of the Ethiopian peer-delivered pilot (Pilot and Feasibility
Studies, 2021, doi:10.1186/s40814-021-00889-x, table 2): middle sessions review
each member's symptoms, link them to the past week's events, gather options and
set homework for every member; the last session re-scores, plans referral for
those still unwell and discusses relapse.

Some items are asked once per member present (``per_member``): the manual
expects every member's problem area to be worked on, not just the group's.
``prefill`` names the records that can already answer an item (see
services/fidelity.py), so the facilitator only confirms it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class Prefill(enum.StrEnum):
    ATTENDANCE = "attendance"  # the register was taken
    MOOD = "mood"  # the check-in items of the agenda were ticked, or every member rated
    MEASURES = "measures"  # every member present has a score at this session
    TASKS_REVIEWED = "tasks_reviewed"  # last week's tasks have a review here
    TASKS_SET = "tasks_set"  # every member present has a task from this session
    # Per member: yes if their problem-area work recorded at this session has a
    # technique or a step (services/problem_work.py), else no.
    PROBLEM_WORK = "problem_work"


@dataclass(frozen=True)
class FidelityItem:
    key: str
    text: Mapping[str, str]  # language -> wording
    per_member: bool = False
    prefill: Prefill | None = None

    def text_for(self, language: str) -> str:
        return self.text.get(language) or self.text["en"]


def _i(
    key: str, en: str, es: str, *, per_member: bool = False, prefill: Prefill | None = None
) -> FidelityItem:
    return FidelityItem(key=key, text={"en": en, "es": es}, per_member=per_member,
                        prefill=prefill)  # fmt: skip


P = Prefill

CHECKLISTS: Mapping[str, tuple[FidelityItem, ...]] = {
    "initial": (
        _i("attendance", "Attendance was taken", "Se tomó la asistencia", prefill=P.ATTENDANCE),
        _i("introductions", "Members introduced themselves",
           "Los miembros se presentaron"),
        _i("group_rules", "Group rules and confidentiality were agreed",
           "Se acordaron las reglas del grupo y la confidencialidad"),
        _i("psychoeducation", "Low mood (depression) was explained: its signs, that it is "
           "common and that it gets better",
           "Se explicó el ánimo bajo (depresión): sus señales, que es común y que mejora"),
        _i("named_area_goal", "Named their problem area and goal",
           "Nombró su área problema y su meta", per_member=True),
        _i("first_task", "Every member chose a first small task",
           "Cada miembro eligió una primera tarea pequeña", prefill=P.TASKS_SET),
    ),
    "middle": (
        _i("attendance", "Attendance was taken", "Se tomó la asistencia", prefill=P.ATTENDANCE),
        _i("mood_round", "A mood round was held", "Se hizo la ronda de ánimo", prefill=P.MOOD),
        _i("tasks_reviewed", "Last week's tasks were reviewed",
           "Se revisaron las tareas de la semana pasada", prefill=P.TASKS_REVIEWED),
        _i("mood_events", "Mood was linked to the week's events with people",
           "Se relacionó el ánimo con lo que pasó con otras personas en la semana"),
        _i("area_worked", "Their problem area was worked on",
           "Se trabajó su área problema", per_member=True, prefill=P.PROBLEM_WORK),
        _i("group_help", "The group helped: options, role play or support",
           "El grupo ayudó: opciones, juego de roles o apoyo"),
        _i("tasks_set", "A task was set for every member",
           "Se acordó una tarea para cada miembro", prefill=P.TASKS_SET),
    ),
    "termination": (
        _i("attendance", "Attendance was taken", "Se tomó la asistencia", prefill=P.ATTENDANCE),
        _i("rescored", "Symptoms were scored again", "Se volvieron a medir los síntomas",
           prefill=P.MEASURES),
        _i("gains_reviewed", "Reviewed what changed for them and what helped",
           "Se revisó lo que cambió para esta persona y lo que ayudó", per_member=True),
        _i("feelings_ending", "Feelings about the group ending were talked about",
           "Se habló de los sentimientos sobre el fin del grupo"),
        _i("relapse_plan", "Named their warning signs and a plan if low mood returns",
           "Nombró sus señales de alerta y un plan si vuelve el ánimo bajo", per_member=True),
        _i("referrals", "Follow-up or referral agreed for anyone still unwell",
           "Se acordó seguimiento o derivación para quien sigue mal"),
    ),
}  # fmt: skip

# Catch-up sessions and sessions with no phase follow the middle-phase round.
DEFAULT_PHASE = "middle"


def items_for(phase: str | None) -> tuple[FidelityItem, ...]:
    return CHECKLISTS.get(phase or DEFAULT_PHASE, CHECKLISTS[DEFAULT_PHASE])
