"""Agenda templates: what a facilitator does in each kind of meeting.

Written in our own plain words for lay facilitators, from the programme
skeleton in shared/reference/group-ipt.md. Every generated session gets a copy
of the template for its phase, which the facilitator can then edit.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class ItemKind(enum.StrEnum):
    CHECK_IN = "check_in"
    REVIEW_TASK = "review_task"
    PROBLEM_AREA_WORK = "problem_area_work"
    ROLE_PLAY = "role_play"
    PSYCHOEDUCATION = "psychoeducation"
    NEW_TASK = "new_task"
    CLOSING = "closing"


class AgendaKind(enum.StrEnum):
    PRE_GROUP = "pre_group"
    INITIAL = "initial"
    MIDDLE = "middle"
    MID_PROGRAMME = "mid_programme"
    TERMINATION = "termination"
    POST_GROUP = "post_group"


@dataclass(frozen=True)
class AgendaItem:
    title: str
    guidance: str
    minutes: int
    kind: ItemKind


def _item(kind: ItemKind, minutes: int, title: str, guidance: str) -> AgendaItem:
    return AgendaItem(title=title, guidance=guidance, minutes=minutes, kind=kind)


K = ItemKind

AGENDAS: Mapping[AgendaKind, tuple[AgendaItem, ...]] = {
    AgendaKind.PRE_GROUP: (
        _item(K.CHECK_IN, 10, "Welcome and how they are",
              "Explain who you are and that this meeting is private. Ask how the last two "
              "weeks have been."),
        _item(K.CHECK_IN, 10, "Symptom check",
              "Go through the questionnaire together and record the answers. If any answer "
              "about wanting to be dead or hurting themselves is above 0, follow the safety "
              "steps on screen before going on."),
        _item(K.PSYCHOEDUCATION, 10, "Link feelings and relationships",
              "Explain that low mood is common, is not their fault, and often follows "
              "changes in the people around us."),
        _item(K.PROBLEM_AREA_WORK, 15, "Important people",
              "Ask who the important people in their life are, who helps and who is hard "
              "to be with. Note any loss, conflict, big change or loneliness."),
        _item(K.PROBLEM_AREA_WORK, 5, "Choose a focus and a goal",
              "Agree on one (at most two) areas to work on and one goal in their own words."),
        _item(K.CLOSING, 5, "Group rules and next steps",
              "Explain confidentiality, attendance and what the group will do. Give the "
              "date and place of the first session."),
    ),
    AgendaKind.INITIAL: (
        _item(K.CHECK_IN, 15, "Welcome and introductions",
              "Everyone says their name (or the name they want to use) and one thing about "
              "themselves."),
        _item(K.CLOSING, 10, "Group rules",
              "Agree the rules together: what is said here stays here, come on time, "
              "listen without judging, tell the facilitator if you cannot come."),
        _item(K.PSYCHOEDUCATION, 20, "What low mood is",
              "Describe the common signs: sadness, no interest, poor sleep, tiredness, "
              "feeling worthless. Explain that it is common and that it can get better."),
        _item(K.PROBLEM_AREA_WORK, 30, "Each member's focus",
              "Each member names the area they will work on and their goal. Point out "
              "what members have in common."),
        _item(K.NEW_TASK, 10, "A first small task",
              "Each member chooses one small thing to do before next time, linked to their "
              "goal."),
        _item(K.CLOSING, 5, "Close", "Thank everyone. Confirm the next date and time."),
    ),
    AgendaKind.MIDDLE: (
        _item(K.CHECK_IN, 15, "Mood round",
              "Each member rates their mood from 0 to 10 and says what happened this week "
              "that affected it."),
        _item(K.REVIEW_TASK, 15, "Review last week's tasks",
              "Each member says how their task went: done, partly or not done, and what "
              "they learned. Praise any effort."),
        _item(K.PROBLEM_AREA_WORK, 30, "Work on a member's problem",
              "Choose one or two members. Link their mood to events with people. Help the "
              "group list options, pros and cons, and choose one to try."),
        _item(K.ROLE_PLAY, 15, "Practise",
              "Role play a difficult conversation the member wants to have. Others play "
              "the other person, then swap and discuss."),
        _item(K.NEW_TASK, 10, "New tasks", "Every member chooses a task for the coming week."),
        _item(K.CLOSING, 5, "Close", "Summarise, thank everyone, confirm the next session."),
    ),
    AgendaKind.MID_PROGRAMME: (
        _item(K.CHECK_IN, 10, "How the group is going",
              "Ask what has helped so far and what has been hard."),
        _item(K.CHECK_IN, 10, "Symptom check",
              "Repeat the questionnaire and compare with the start."),
        _item(K.PROBLEM_AREA_WORK, 20, "Review the goal",
              "Look at progress on the goal together. Adjust the goal if needed."),
        _item(K.CLOSING, 5, "Plan the rest",
              "Agree what to focus on in the remaining sessions."),
    ),
    AgendaKind.TERMINATION: (
        _item(K.CHECK_IN, 15, "Mood round and symptom check",
              "Mood round as usual. Members complete the questionnaire again."),
        _item(K.REVIEW_TASK, 20, "What has changed",
              "Each member describes what has changed since the start and what helped."),
        _item(K.PROBLEM_AREA_WORK, 15, "Feelings about ending",
              "Talk openly about the group ending: it is normal to feel sad or worried."),
        _item(K.PSYCHOEDUCATION, 20, "Warning signs and a plan",
              "Each member names their early warning signs and what they will do, and who "
              "they can turn to, if low mood comes back."),
        _item(K.CLOSING, 20, "Next steps and goodbye",
              "Agree follow-up or referral for anyone still unwell. Say goodbye."),
    ),
    AgendaKind.POST_GROUP: (
        _item(K.CHECK_IN, 10, "How they are now",
              "Ask how things have been since the group ended."),
        _item(K.CHECK_IN, 10, "Symptom check",
              "Complete the questionnaire and compare with the start."),
        _item(K.CLOSING, 10, "Follow-up plan",
              "Agree what support comes next, including a referral if still unwell."),
    ),
}  # fmt: skip


def agenda_for(kind: AgendaKind) -> tuple[AgendaItem, ...]:
    return AGENDAS[kind]
