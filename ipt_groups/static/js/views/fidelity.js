// The fidelity checklist: the runner's last step, after the agenda. The
// facilitator answers yes / partly / no for each item of the session's phase
// (per-member items once for each member marked present). It is sent through
// the outbox like attendance and tasks, so it can be filled with no signal.
// Once a supervisor has reviewed it the answers are read-only and the
// supervisor's feedback shows here, marked new until opened.
import * as api from '../core/api.js';
import { t, use } from '../core/i18n.js';
import { button, h, loadInto, notice, submitForm } from '../core/ui.js';

const ANSWERS = ['yes', 'partly', 'no'];
const WEIGHT = { yes: 1, partly: 0.5, no: 0 };
const CAME = ['present', 'late'];

// The questions for the members the runner has marked present now (which may
// be newer than the server's copy, when marks were made offline).
function questions(data, runner) {
  const given = new Map(data.items.map((i) => [`${i.key}|${i.enrolment_id || ''}`, i]));
  const here = runner.members.filter((m) => CAME.includes(m.attendance));
  const out = [];
  for (const item of data.template) {
    const targets = item.per_member ? here : [null];
    for (const member of targets) {
      const id = member ? member.enrolment_id : null;
      const known = given.get(`${item.key}|${id || ''}`) || {};
      out.push({ key: item.key, text: item.text, enrolment_id: id,
        display_name: member ? member.display_name : null,
        prefill: localPrefill(item.prefill, here, member) ?? known.prefill ?? null,
        answer: known.answer || null, comment: known.comment || '' });
    }
  }
  return out;
}

// What the tablet itself knows: the register, the tasks set here and each
// member's problem-area work saved here (the runner's member.work, updated
// when it is saved, even offline). As the server: a technique or a step is yes.
export function localPrefill(source, here, member) {
  if (source === 'attendance') return here.length ? 'yes' : null;
  if (source === 'problem_work' && member) {
    const work = member.work;
    return work && ((work.techniques || []).length || (work.steps || []).length) ? 'yes' : 'no';
  }
  if (source === 'tasks_set' && here.length) {
    const set = here.filter((m) => m.task_here).length;
    return set === here.length ? 'yes' : set ? 'partly' : null;
  }
  return null;
}

export function score(answers) {
  if (!answers.length) return 0;
  return answers.reduce((sum, a) => sum + WEIGHT[a.answer], 0) / answers.length;
}

const pct = (share) => `${Math.round(share * 100)}%`;

function feedbackBox(sessionId, record) {
  if (!record || !record.reviewed_at) return null;
  const unread = !record.feedback_read_at;
  const box = h('div', { class: 'notice info stack', 'data-feedback': '' },
    h('div', { class: 'spread' }, h('strong', {}, t('fidelity.feedback_title')),
      unread ? h('span', { class: 'badge warn', 'data-unread': '' }, t('fidelity.new')) : null),
    h('p', {}, t('fidelity.rating', { rating: record.rating })),
    h('p', {}, record.feedback));
  if (unread) {
    // Opening it here is reading it: the marker goes for the next visit.
    api.post(`/api/sessions/${sessionId}/fidelity/read`).then(() => {
      record.feedback_read_at = new Date().toISOString();
    }).catch(() => {});
  }
  return box;
}

export function fidelityStep(sessionId, runner) {
  const path = `/api/sessions/${sessionId}/fidelity`;
  const body = h('div', { class: 'stack' });
  const summary = h('summary', {});
  let data = null;

  // Fetched when the runner opens (and so cached for filling it in offline);
  // drawn when opened, by when the register is taken and the per-member items
  // name the members who came.
  const ready = (async () => {
    await use('fidelity');
    summary.replaceChildren(t('fidelity.title'));
    data = await api.get(path, { offline: true });
    details.dataset.loaded = '';  // kept on the device: it can be filled offline now
    const record = data.checklist;
    if (record && record.reviewed_at && !record.feedback_read_at) {
      summary.append(' ', h('span', { class: 'badge warn', 'data-unread-marker': '' }, t('fidelity.new')));
    }
  })();

  // draw() fills the body itself (it returns nothing for loadInto to put there).
  const open = () => loadInto(body, () => ready, () => draw(), { kind: 'warn' });

  function draw() {
    const record = data.checklist;
    const lines = questions(data, runner);
    const feedback = feedbackBox(sessionId, record);
    if (!data.editable) {
      body.replaceChildren(feedback, h('p', {}, t('fidelity.score', { score: pct(record.score) })),
        h('ul', {}, lines.map((l) => h('li', {}, label(l), ': ', t(`fidelity.answer.${l.answer || 'none'}`),
          l.comment ? ` (${l.comment})` : ''))));
      return;
    }
    const chosen = new Map();
    const rows = lines.map((line) => {
      const start = line.answer || line.prefill;
      if (start) chosen.set(line, start);
      const comment = h('input', { name: 'comment', value: line.comment, maxlength: 500,
        'aria-label': t('fidelity.comment_for', { item: label(line) }), placeholder: t('fidelity.comment') });
      line.input = comment;
      const seg = h('div', { class: 'seg', role: 'group', 'aria-label': label(line) }, ANSWERS.map((a) => h('button', {
        type: 'button', 'data-answer': a, 'aria-pressed': String(start === a),
        onclick: (e) => {
          chosen.set(line, a);
          e.target.parentElement.querySelectorAll('button').forEach((b) => b.setAttribute('aria-pressed', String(b === e.target)));
        } }, t(`fidelity.answer.${a}`))));
      return h('li', { class: 'stack', dataset: { item: line.key, member: line.enrolment_id || '' } },
        h('div', { class: 'spread' }, h('span', {}, label(line)),
          !line.answer && line.prefill ? h('span', { class: 'badge', 'data-prefilled': '' }, t('fidelity.prefilled')) : null),
        seg, comment);
    });
    const message = h('div', { 'aria-live': 'polite' });
    const form = h('form', { class: 'stack', novalidate: true, 'data-fidelity': '' },
      h('p', { class: 'hint' }, t('fidelity.hint')),
      h('ul', { class: 'checklist' }, rows), message,
      button(t('fidelity.save'), null, { type: 'submit' }));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const missing = lines.filter((l) => !chosen.has(l));
      if (missing.length) {
        message.replaceChildren(notice(t('fidelity.answer_all', { count: missing.length }), 'error'));
        return;
      }
      const answers = lines.map((l) => ({ key: l.key, enrolment_id: l.enrolment_id, answer: chosen.get(l),
        comment: l.input.value.trim() }));
      await submitForm(form, null, async () => {
        const res = await api.put(path, { answers }, { queue: t('fidelity.q_save') });
        // Keep what was sent in the cached copy, so a reload offline shows it.
        const byKey = new Map(answers.map((a) => [`${a.key}|${a.enrolment_id || ''}`, a]));
        data = res && !res.__queued ? res : { ...data, items: lines.map((l) => ({ ...l, input: undefined,
          ...byKey.get(`${l.key}|${l.enrolment_id || ''}`) })) };
        api.remember(path, data).catch(() => {});
        message.replaceChildren(notice(res && res.__queued ? t('fidelity.saved_offline')
          : t('fidelity.saved', { score: pct(score(answers)) }), res && res.__queued ? 'warn' : 'ok'));
      }, { message });
    });
    body.replaceChildren(...[feedback, form].filter(Boolean));
  }

  const details = h('details', { 'data-fidelity-step': '', ontoggle: () => { if (details.open) open(); } },
    summary, body);
  ready.catch(() => {});
  return h('section', { class: 'card' }, details);
}

function label(line) {
  return line.display_name ? `${line.display_name}: ${line.text}` : line.text;
}

// "2 new" beside the cohort's supervision link: feedback its facilitators
// have not opened yet. Filled in when the log answers; nothing if it cannot.
export function unreadBadge(cohortId) {
  const badge = h('span', { class: 'badge warn', hidden: true, 'data-unread-feedback': '' });
  Promise.all([use('fidelity'), api.get(`/api/cohorts/${cohortId}/supervision`, { offline: true })])
    .then(([, log]) => {
      const count = log.sessions.filter((s) => s.unread).length;
      if (count && !log.can_supervise) {
        badge.textContent = t('fidelity.unread', { count });
        badge.hidden = false;
      }
    }).catch(() => {});
  return badge;
}
