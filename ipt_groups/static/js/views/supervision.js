// Supervision. Two screens:
//   #/supervision      the supervisor's overview: per facilitator, held sessions,
//                      missing checklists, mean score, low ones, last meeting;
//   #/supervision/:id  one cohort's log: each session's checklist and review
//                      (a supervisor rates and writes feedback; the facilitators
//                      read it here, new feedback marked), and the meetings.
import * as api from '../core/api.js';
import * as fmt from '../core/fmt.js';
import { t, use } from '../core/i18n.js';
import { button, field, h, loadInto, notice, staleNote, submitForm } from '../core/ui.js';

const pct = (share) => (share == null ? '—' : fmt.number(share, { style: 'percent', maximumFractionDigits: 0 }));
const th = (text) => h('th', { scope: 'col' }, text);

export default async function supervision({ params, app }) {
  await use('fidelity');
  return params.id ? cohortLog(Number(params.id), app) : overview();
}

async function overview() {
  const data = await api.get('/api/supervision/overview', { offline: true });
  const rows = data.facilitators.map((r) => h('tr', { dataset: { facilitator: r.facilitator_id } },
    h('th', { scope: 'row' }, r.display_name),
    h('td', {}, r.cohorts.map((c, i) => [i ? ', ' : '', h('a', { href: `#/supervision/${c.id}` }, c.name)])),
    h('td', { 'data-held': '' }, String(r.sessions_held)),
    h('td', { 'data-missing': '' }, r.checklists_missing ? h('span', { class: 'badge danger' }, String(r.checklists_missing)) : '0'),
    h('td', { 'data-mean': '' }, pct(r.mean_score)),
    h('td', { 'data-low': '' }, r.below_threshold ? h('span', { class: 'badge warn' }, String(r.below_threshold)) : '0'),
    h('td', {}, String(r.unreviewed)),
    h('td', {}, r.last_meeting_on ? fmt.date(r.last_meeting_on, 'UTC') : t('supervision.never'))));
  return h('section', {},
    h('h1', {}, t('supervision.title')),
    staleNote(data),
    h('p', { class: 'hint' }, t('supervision.hint', { threshold: pct(data.threshold) })),
    rows.length ? h('div', { class: 'table-wrap' }, h('table', { 'data-overview': '' },
      h('thead', {}, h('tr', {}, th(t('supervision.facilitator')), th(t('supervision.cohorts')),
        th(t('supervision.held')), th(t('supervision.missing')), th(t('supervision.mean')),
        th(t('supervision.low')), th(t('supervision.unreviewed')), th(t('supervision.last_meeting')))),
      h('tbody', {}, rows))) : notice(t('supervision.none')));
}

async function cohortLog(cohortId, app) {
  const path = `/api/cohorts/${cohortId}/supervision`;
  const log = await api.get(path, { offline: true });
  const names = Object.fromEntries(log.facilitators.map((f) => [f.id, f.display_name]));
  const sessions = log.sessions.filter((s) => s.held || s.has_checklist).map((s) => sessionRow(s, log));
  return h('section', {},
    h('p', {}, h('a', { href: `#/cohorts/${cohortId}` }, t('supervision.back'))),
    h('h1', {}, t('supervision.log_title', { name: log.name })),
    staleNote(log),
    h('section', { class: 'card stack', 'aria-labelledby': 'sv-s' }, h('h2', { id: 'sv-s' }, t('supervision.sessions')),
      sessions.length ? h('ul', { class: 'stack' }, sessions) : notice(t('supervision.no_sessions'))),
    h('section', { class: 'card stack', 'aria-labelledby': 'sv-m' }, h('h2', { id: 'sv-m' }, t('supervision.meetings')),
      log.meetings.length ? h('ul', { class: 'stack', 'data-meetings': '' }, log.meetings.map((m) => h('li', {},
        h('strong', {}, fmt.date(m.held_on, 'UTC')), ' · ', t('supervision.minutes', { minutes: m.duration_minutes }), ' · ',
        m.facilitator_ids.map((id) => names[id] || `#${id}`).join(', '),
        m.notes ? h('p', {}, m.notes) : null,
        m.actions ? h('p', {}, h('strong', {}, t('supervision.actions')), ' ', m.actions) : null)))
        : h('p', { class: 'muted' }, t('supervision.no_meetings')),
      log.can_supervise ? meetingForm(cohortId, log, app) : null));
}

function sessionRow(s, log) {
  const title = s.number ? t('supervision.session', { number: s.number }) : t('supervision.catch_up');
  const status = s.has_checklist
    ? h('span', { class: `badge ${s.score < 0.7 ? 'warn' : 'ok'}` }, t('supervision.scored', { score: pct(s.score) }))
    : h('span', { class: 'badge danger' }, t('supervision.no_checklist'));
  const review = s.reviewed_at ? h('div', { class: 'stack', 'data-review': '' },
    h('p', {}, t('fidelity.rating', { rating: s.rating }),
      s.unread && !log.can_supervise ? [' ', h('span', { class: 'badge warn', 'data-unread': '' }, t('fidelity.new'))] : null),
    h('p', {}, s.feedback)) : null;
  const box = h('div', { class: 'stack' });
  const details = h('details', { ontoggle: () => { if (details.open && !box.firstChild) openSession(s, log, box); } },
    h('summary', {}, t('supervision.open')), box);
  return h('li', { class: 'member stack', dataset: { session: s.session_id } },
    h('div', { class: 'spread' }, h('h3', {}, title), status),
    h('p', { class: 'muted' }, fmt.dateTime(s.starts_at), ' · ', h('a', { href: `#/sessions/${s.session_id}` }, t('supervision.runner'))),
    review, s.has_checklist ? details : null);
}

function openSession(s, log, box) {
  return loadInto(box, () => api.get(`/api/sessions/${s.session_id}/fidelity`, { offline: true }), (data) => {
    const answers = h('ul', { 'data-answers': '' }, data.items.map((i) => h('li', {},
      i.display_name ? `${i.display_name}: ${i.text}` : i.text, ': ',
      h('strong', {}, t(`fidelity.answer.${i.answer || 'none'}`)), i.comment ? ` (${i.comment})` : '')));
    if (!log.can_supervise && s.unread) {
      api.post(`/api/sessions/${s.session_id}/fidelity/read`).catch(() => {});
    }
    return [answers, log.can_supervise ? reviewForm(s) : null];
  }, { kind: 'warn' });
}

function reviewForm(s) {
  const rating = h('select', { name: 'rating' }, [1, 2, 3, 4, 5].map((n) => h('option', { value: n, selected: s.rating === n }, String(n))));
  const feedback = h('textarea', { name: 'feedback', rows: 3, maxlength: 5000 }, s.feedback || '');
  const message = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'stack', novalidate: true, 'data-review-form': '' },
    field(t('supervision.rating'), rating, { hint: t('supervision.rating_hint') }),
    field(t('supervision.feedback'), feedback, { hint: t('supervision.feedback_hint') }),
    message, button(t('supervision.send_review'), null, { type: 'submit' }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    await submitForm(form, null, async () => {
      await api.post(`/api/sessions/${s.session_id}/fidelity/review`, { rating: Number(rating.value), feedback: feedback.value.trim() });
      message.replaceChildren(notice(t('supervision.reviewed'), 'ok'));
    }, { message });
  });
  return form;
}

function meetingForm(cohortId, log, app) {
  const today = new Date().toISOString().slice(0, 10);
  const day = h('input', { type: 'date', name: 'held_on', value: today, max: today });
  const minutes = h('input', { type: 'number', name: 'duration_minutes', value: 60, min: 5, max: 600 });
  const who = log.facilitators.map((f) => h('label', {}, h('input', { type: 'checkbox', name: 'facilitator_ids', value: f.id, checked: true }), ' ', f.display_name));
  const notes = h('textarea', { name: 'notes', rows: 3, maxlength: 10000 });
  const actions = h('textarea', { name: 'actions', rows: 2, maxlength: 5000 });
  const message = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'stack', novalidate: true, 'data-meeting-form': '' },
    h('h3', {}, t('supervision.new_meeting')),
    field(t('supervision.held_on'), day), field(t('supervision.duration'), minutes),
    h('fieldset', {}, h('legend', {}, t('supervision.who')), who),
    field(t('supervision.notes'), notes), field(t('supervision.actions'), actions),
    message, button(t('supervision.save_meeting'), null, { type: 'submit' }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { held_on: day.value, duration_minutes: Number(minutes.value),
      facilitator_ids: who.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => Number(i.value)),
      notes: notes.value.trim(), actions: actions.value.trim() };
    await submitForm(form, null, async () => {
      await api.post(`/api/cohorts/${cohortId}/supervision-meetings`, body);
      app.rerender();  // the log lists it at the top
    }, { message });
  });
  return form;
}
