// The runner's problem-area work for one member: the steps suggested for
// their problem area(s), the techniques used with them (chips) and a 0-4
// rating of progress on their goal. Saved through the outbox like everything
// else in the runner, so it works with no signal; the runner's cached copy is
// updated at once, so a reload offline shows what was entered.
//
// The guidance and the technique labels come in the runner's own answer, in
// the facilitator's language (ipt_groups/protocol/problem_areas.py).
import * as api from '../core/api.js';
import { t } from '../core/i18n.js';
import { button, h, notice, stylesheet, submitForm } from '../core/ui.js';

const RATINGS = [0, 1, 2, 3, 4];

function toggle(list, value) {
  return list.includes(value) ? list.filter((v) => v !== value) : [...list, value];
}

function chip(label, pressed, onclick, data) {
  return h('button', { type: 'button', class: 'work-chip', 'aria-pressed': String(pressed), dataset: data, onclick }, label);
}

function guide(area, chosen, redraw) {
  const next = area.steps.find((s) => s.key === area.next_step);
  return h('div', { class: 'work-area', dataset: { area: area.area } },
    h('p', {}, h('strong', {}, area.label), ' · ',
      area.all_done ? t('work.all_done') : t('work.next', { step: next ? next.title : '' })),
    next ? h('p', { class: 'guidance' }, next.guidance) : null,
    h('div', { class: 'work-chips', role: 'group', 'aria-label': t('work.steps_for', { area: area.label }) },
      area.steps.map((s) => chip(
        [s.done ? '✓ ' : '', s.title],
        chosen.steps.includes(s.key),
        () => { chosen.steps = toggle(chosen.steps, s.key); redraw(); },
        { step: s.key, suggested: String(s.suggested) },
      ))));
}

// ``member`` is the runner's member (with ``work`` and ``suggested_steps``);
// ``save`` keeps the runner's cached copy.
export function workBox({ sessionId, member, techniques, save }) {
  stylesheet('work');
  const saved = member.work || { techniques: [], steps: [], progress: null };
  const chosen = { techniques: [...saved.techniques], steps: [...saved.steps], progress: saved.progress };
  const body = h('div', { class: 'stack' });
  const message = h('span', { 'aria-live': 'polite' });

  function draw() {
    body.replaceChildren(
      ...(member.suggested_steps || []).map((area) => guide(area, chosen, draw)),
      h('p', { class: 'work-label' }, t('work.techniques')),
      h('div', { class: 'work-chips', role: 'group', 'aria-label': t('work.techniques') },
        techniques.map((tech) => chip(tech.label, chosen.techniques.includes(tech.key), () => {
          chosen.techniques = toggle(chosen.techniques, tech.key);
          draw();
        }, { technique: tech.key }))),
      h('p', { class: 'work-label' }, t('work.progress')),
      h('div', { class: 'seg', role: 'radiogroup', 'aria-label': t('work.progress') },
        RATINGS.map((v) => h('button', {
          type: 'button', role: 'radio', 'aria-checked': String(chosen.progress === v), dataset: { progress: v },
          'aria-label': `${v}: ${t(`work.rating.${v}`)}`,
          onclick: () => { chosen.progress = chosen.progress === v ? null : v; draw(); },
        }, String(v)))),
      h('p', { class: 'hint' }, t('work.rating_hint')),
      h('div', { class: 'row' }, button(t('work.save'), submit, { kind: 'secondary', 'data-save-work': '' }), message));
  }

  function submit() {
    const payload = { techniques: chosen.techniques, steps: chosen.steps, progress: chosen.progress };
    return submitForm(null, null, async () => {
      const res = await api.put(`/api/sessions/${sessionId}/work/${member.enrolment_id}`, payload,
        { queue: t('work.queued', { name: member.display_name }) });
      member.work = { ...(member.work || {}), ...payload };
      save();
      summary.textContent = `${t('work.title')} · ${t('work.recorded')}`;
      message.replaceChildren(notice(res && res.__queued ? t('runner.saved_offline') : t('common.saved'),
        res && res.__queued ? 'warn' : 'ok'));
    }, { message });
  }

  // Closed, the line still says what to do next, so the facilitator sees it at a glance.
  const nextTitles = (member.suggested_steps || [])
    .map((area) => area.steps.find((s) => s.key === area.next_step)).filter(Boolean).map((s) => s.title);
  const closed = nextTitles.length ? `${t('work.title')} · ${t('work.next', { step: nextTitles.join(', ') })}` : t('work.title');
  const summary = h('summary', {}, member.work ? `${t('work.title')} · ${t('work.recorded')}` : closed);
  draw();
  return h('details', { class: 'work', dataset: { work: member.enrolment_id } }, summary, body);
}
