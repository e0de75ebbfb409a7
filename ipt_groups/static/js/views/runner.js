// The session runner: what a facilitator has open on the tablet for the whole
// session. Everything written here works offline: each change goes to the
// outbox (sent in order with an Idempotency-Key) and into the cached copy of
// the runner, so a reload with no signal shows what was done.
import * as api from '../core/api.js';
import * as fmt from '../core/fmt.js';
import { language, t, use } from '../core/i18n.js';
import { riskAnswered, score } from '../core/measures.js';
import { button, errorText, field, h, loadInto, notice, staleNote, submitForm } from '../core/ui.js';
import { fidelityStep } from './fidelity.js';
import { runnerInventories } from './inventory.js';
import { runnerTrends } from './runner-trend.js';
import { workBox } from './runner-work.js';

const MARKS = ['present', 'late', 'excused', 'absent'];

function pick(map) {
  if (!map || typeof map !== 'object') return map || '';
  return map[language()] || map.en || Object.values(map)[0] || '';
}

// A clinic's own instrument may have bands we have no words for: show its label.
function bandName(label) {
  if (!label) return '—';
  const key = `runner.band.${label}`;
  const text = t(key);
  return text === key ? label : text;
}

export default async function runner({ params }) {
  await use('runner', 'work', 'trends');  // trends: the sparklines' tooltip (runner-trend.js)
  const id = Number(params.id);
  const path = `/api/sessions/${id}/runner`;
  const data = await api.get(path, { offline: true });
  const instruments = await api.get('/api/instruments', { offline: true }).catch(() => []);
  const byKey = Object.fromEntries(instruments.map((i) => [i.key, i]));
  const inventoryOf = await runnerInventories(id); // the people in each member's life
  const save = () => api.remember(path, stripStale(data)).catch(() => {});
  const session = data.session;
  const zone = session.time_zone;
  const trend = runnerTrends(session.cohort_id, session.number);  // sparklines; empty offline

  // -- agenda ------------------------------------------------------------------
  const agenda = h('ul', { class: 'checklist' }, data.agenda.items.map((item) => {
    const box = h('input', { type: 'checkbox', checked: item.done, 'data-agenda': item.id,
      onchange: async (e) => {
        item.done = e.target.checked;
        save();
        try {
          await api.post(`/api/agenda-items/${item.id}/tick`, { done: item.done }, { queue: t('runner.q_agenda', { title: item.title }) });
        } catch {
          e.target.checked = !item.done;
          item.done = !item.done;
          save();
        }
      } });
    return h('li', {}, h('div', {},
      h('label', {}, box, h('span', {}, item.title, ' ', h('span', { class: 'muted' }, t('runner.minutes', { minutes: item.minutes })))),
      item.guidance ? h('p', { class: 'guidance' }, item.guidance) : null));
  }));

  // -- attendance --------------------------------------------------------------
  const counts = h('p', { class: 'muted', 'aria-live': 'polite' });
  const drawCounts = () => {
    const here = data.members.filter((m) => m.attendance === 'present' || m.attendance === 'late').length;
    counts.textContent = t('runner.count', { here, expected: data.expected });
  };
  const markButtons = new Map();
  function markRow(member) {
    const seg = h('div', { class: 'seg', role: 'group', 'aria-label': t('runner.mark_for', { name: member.display_name }) },
      MARKS.map((mark) => h('button', { type: 'button', 'aria-pressed': String(member.attendance === mark), 'data-mark': mark,
        onclick: () => setMark(member, mark) }, t(`runner.mark.${mark}`))));
    markButtons.set(member.enrolment_id, seg);
    return seg;
  }
  function drawMark(member) {
    markButtons.get(member.enrolment_id)?.querySelectorAll('button').forEach((b) => {
      b.setAttribute('aria-pressed', String(b.dataset.mark === member.attendance));
    });
    drawCounts();
  }
  async function setMark(member, mark) {
    const before = member.attendance;
    member.attendance = mark;
    drawMark(member);
    save();
    await submitForm(null, null, () => api.put(`/api/sessions/${id}/attendance`,
      { entries: [{ enrolment_id: member.enrolment_id, status: mark }] },
      { queue: t('runner.q_mark', { name: member.display_name, mark: t(`runner.mark.${mark}`) }) }), {
      message: problems,
      onError: () => {
        member.attendance = before;
        drawMark(member);
        save();
      },
    });
  }
  async function allPresent() {
    const before = data.members.map((m) => m.attendance);
    data.members.forEach((m) => { m.attendance = m.cannot_come ? 'excused' : 'present'; drawMark(m); });
    save();
    await submitForm(null, null, () => api.post(`/api/sessions/${id}/attendance/all-present`, {}, { queue: t('runner.q_all_present') }), {
      message: problems,
      onError: () => {
        data.members.forEach((m, i) => { m.attendance = before[i]; drawMark(m); });
        save();
      },
    });
  }

  // -- one member: measures, task, note -----------------------------------------
  function measureForm(member, instrument) {
    const answers = {};
    const result = h('p', { class: 'big', 'aria-live': 'polite' });
    const alarm = h('div', { 'aria-live': 'assertive' });
    const message = h('div');
    const choices = pick(instrument.choices);
    const update = () => {
      const s = score(instrument, answers);
      result.textContent = s ? t('runner.total', { total: s.total, band: bandName(s.band) }) : '';
      if (riskAnswered(instrument, answers) && !alarm.firstChild) {
        alarm.replaceChildren(h('div', { class: 'crisis', role: 'alert', 'data-crisis': '' },
          h('h4', {}, t('runner.risk_title')), h('p', {}, t('runner.risk_text')), h('p', {}, data.crisis_text)));
      } else if (!riskAnswered(instrument, answers)) {
        alarm.replaceChildren();
      }
    };
    const items = instrument.items.map((item, n) => {
      const values = [];
      for (let v = instrument.min_answer; v <= instrument.max_answer; v += 1) values.push(v);
      return h('fieldset', { class: 'field' }, h('legend', {}, `${n + 1}. ${pick(item.text)}`),
        h('div', { class: 'seg', role: 'radiogroup' }, values.map((v) => {
          const b = h('button', { type: 'button', role: 'radio', 'aria-checked': 'false', 'data-value': v,
            'aria-label': choices && choices.length ? `${v}: ${choices[v - instrument.min_answer]}` : String(v),
            onclick: () => {
              answers[item.key] = v;
              b.parentElement.querySelectorAll('button').forEach((x) => x.setAttribute('aria-checked', String(x === b)));
              update();
            } }, String(v));
          return b;
        })));
    });
    const form = h('form', { class: 'stack', novalidate: true, dataset: { measure: instrument.key } },
      h('h4', {}, instrument.name),
      choices && choices.length ? h('p', { class: 'hint' }, choices.map((c, i) => `${i + instrument.min_answer} = ${c}`).join(' · ')) : null,
      items, result, alarm, message,
      button(t('runner.save_measure'), null, { type: 'submit' }));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const s = score(instrument, answers);
      if (!s) {
        message.replaceChildren(notice(t('runner.answer_all'), 'error'));
        return;
      }
      const body = { instrument: instrument.key, answers, session_id: id, client_key: `m-${crypto.randomUUID()}` };
      await submitForm(form, null, async () => {
        const res = await api.post(`/api/enrolments/${member.enrolment_id}/assessments`, body,
          { queue: t('runner.q_measure', { name: member.display_name, instrument: instrument.name }) });
        member.due = member.due.filter((k) => k !== instrument.key);
        member.last_score = { instrument: instrument.key, instrument_name: instrument.name, total: s.total, band: s.band, completed_at: new Date().toISOString() };
        if (s.risk) member.open_alerts = (member.open_alerts || 0) + 1;
        save();
        trend.recorded(member.enrolment_id, instrument.key, s.total);
        // Redraw the member (last score, what is still due), then say what happened on top.
        redrawMember(member);
        memberBoxes.get(member.enrolment_id)?.prepend(h('div', { class: 'stack' },
          notice(res.__queued ? t('runner.saved_offline') : t('runner.saved_measure', { total: s.total }), res.__queued ? 'warn' : 'ok'),
          s.risk ? h('div', { class: 'crisis', role: 'alert' }, h('h4', {}, t('runner.risk_title')),
            h('p', {}, res.__queued ? t('runner.risk_offline') : t('runner.risk_sent')), h('p', {}, res.crisis_text || data.crisis_text)) : null));
      }, { message });
    });
    return form;
  }

  function taskBox(member) {
    const parts = [];
    if (member.task_to_review && !member.task_to_review.review) {
      const task = member.task_to_review;
      parts.push(h('div', { class: 'stack' }, h('p', {}, h('strong', {}, t('runner.review_task')), ' ', task.text),
        h('div', { class: 'seg', role: 'group', 'aria-label': t('runner.review_task') }, ['done', 'partly', 'not_done'].map((r) => h('button', {
          type: 'button', 'aria-pressed': 'false',
          onclick: (e) => submitForm(null, null, async () => {
            await api.post(`/api/tasks/${task.id}/review`, { review: r, session_id: id },
              { queue: t('runner.q_review', { name: member.display_name }) });
            task.review = r;
            save();
            e.target.parentElement.replaceWith(notice(t(`runner.review.${r}`), 'ok'));
          }, { message: (node) => e.target.parentElement.after(node) }) }, t(`runner.review.${r}`))))));
    }
    const input = h('input', { name: 'task', value: member.task_here ? member.task_here.text : '', maxlength: 500 });
    const message = h('span', { 'aria-live': 'polite' });
    const form = h('form', { class: 'stack', novalidate: true },
      field(t('runner.task', { name: member.display_name }), input, { hint: t('runner.task_hint') }),
      h('div', { class: 'row' }, button(t('common.save'), null, { type: 'submit', kind: 'secondary' }), message));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      // Said as plain text beside the button (a notice would not fit the row).
      await submitForm(form, null, async () => {
        const res = await api.put(`/api/sessions/${id}/tasks`, { tasks: [{ enrolment_id: member.enrolment_id, text }] },
          { queue: t('runner.q_task', { name: member.display_name }) });
        member.task_here = { ...(member.task_here || {}), text };
        save();
        message.textContent = res && res.__queued ? t('runner.saved_offline') : t('common.saved');
      }, { onError: (error) => { message.textContent = errorText(error); } });
    });
    parts.push(form);
    return parts;
  }

  function noteBox(member) {
    if (member.note_written) return h('p', { class: 'muted' }, t('runner.note_written'));
    const text = h('textarea', { name: 'body', rows: 3, maxlength: 5000 });
    const form = h('form', { class: 'stack', novalidate: true },
      field(t('runner.member_note', { name: member.display_name }), text, { hint: t('runner.note_once') }),
      button(t('runner.save_note'), null, { type: 'submit', kind: 'secondary' }));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!text.value.trim()) return;
      await submitForm(form, null, async () => {
        const res = await api.post(`/api/sessions/${id}/notes`, { enrolment_id: member.enrolment_id, body: text.value.trim() },
          { queue: t('runner.q_note', { name: member.display_name }) });
        member.note_written = true;
        save();
        form.replaceWith(notice(res.__queued ? t('runner.saved_offline') : t('runner.note_saved'), res.__queued ? 'warn' : 'ok'));
      }, { message: (node) => form.append(node) });
    });
    return form;
  }

  const memberBoxes = new Map();
  function memberDetails(member) {
    const due = member.due.map((key) => byKey[key]).filter(Boolean);
    const last = member.last_score;
    return [
      member.goal ? h('p', {}, h('strong', {}, t('runner.goal')), ' ', member.goal) : null,
      member.problem_areas.length ? h('p', { class: 'muted' }, member.problem_areas.map((a) => t(`runner.area.${a}`)).join(', ')) : null,
      last ? h('p', {}, t('runner.last_score', { instrument: last.instrument_name || last.instrument, total: last.total,
        band: bandName(last.band) })) : null,
      member.open_alerts ? h('p', {}, h('span', { class: 'badge danger' }, t('runner.open_alert'))) : null,
      due.length ? h('details', { class: 'stack' }, h('summary', {}, t('runner.due', { list: due.map((i) => i.name).join(', ') })),
        due.map((i) => measureForm(member, i))) : null,
      h('details', {}, h('summary', {}, t('runner.task_and_note')), taskBox(member), noteBox(member)),
      inventoryOf(member),
      workBox({ sessionId: id, member, techniques: data.techniques || [], save }),
    ];
  }
  function redrawMember(member) {
    const box = memberBoxes.get(member.enrolment_id);
    if (box) box.replaceChildren(...memberDetails(member).filter(Boolean));
  }

  const members = h('div', {}, data.members.map((member) => {
    const details = h('div', { class: 'stack' }, memberDetails(member));
    memberBoxes.set(member.enrolment_id, details);
    return h('section', { class: 'member', 'aria-label': member.display_name, dataset: { member: member.enrolment_id } },
      h('div', { class: 'spread' },
        h('h3', {}, member.display_name),
        trend.slot(member.enrolment_id),
        member.cannot_come ? h('span', { class: 'badge warn' }, t('runner.cannot_come'), member.cannot_come_reason ? `: ${member.cannot_come_reason}` : '') : null),
      markRow(member),
      details);
  }));
  const problems = h('div', { 'aria-live': 'assertive' });
  drawCounts();

  // -- group note, sharing, reminders --------------------------------------------
  function groupNote() {
    if (data.group_note) return h('div', {}, h('p', {}, data.group_note.body));
    const text = h('textarea', { name: 'body', rows: 4, maxlength: 5000 });
    const form = h('form', { class: 'stack', novalidate: true },
      field(t('runner.group_note'), text, { hint: t('runner.note_once') }),
      button(t('runner.save_note'), null, { type: 'submit' }));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!text.value.trim()) return;
      await submitForm(form, null, async () => {
        const res = await api.post(`/api/sessions/${id}/notes`, { body: text.value.trim() }, { queue: t('runner.q_group_note') });
        data.group_note = { body: text.value.trim() };
        save();
        form.replaceWith(h('div', {}, notice(res.__queued ? t('runner.saved_offline') : t('runner.note_saved'), res.__queued ? 'warn' : 'ok'),
          h('p', {}, data.group_note.body)));
      }, { message: (node) => form.append(node) });
    });
    return form;
  }

  function share() {
    const box = h('div', { class: 'stack' });
    const load = () => loadInto(box, () => api.get('/api/content', { offline: true }), (library) => {
      const select = h('select', { name: 'item_key' }, library.filter((i) => !i.retired_at).map((i) => h('option', { value: i.key }, i.title)));
      const message = h('div', { 'aria-live': 'polite' });
      const form = h('form', { class: 'stack', novalidate: true }, field(t('runner.share_pick'), select),
        button(t('runner.share_now'), null, { type: 'submit', kind: 'secondary' }), message);
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        await submitForm(form, null, async () => {
          await api.post(`/api/sessions/${id}/share`, { item_key: select.value });
          message.replaceChildren(notice(t('runner.shared'), 'ok'));
        }, { message });
      });
      return form;
    }, { kind: 'warn' });
    const details = h('details', { ontoggle: () => { if (details.open && !box.firstChild) load(); } },
      h('summary', {}, t('runner.share')), box);
    return details;
  }

  function reminders() {
    const box = h('div');
    const load = () => loadInto(box, () => api.get(`/api/sessions/${id}/reminders`, { offline: true }), (rows) => [
      h('div', { class: 'table-wrap' }, h('table', {},
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('runner.member')), h('th', { scope: 'col' }, t('runner.reminder')))),
          h('tbody', {}, rows.map((r) => h('tr', {}, h('th', { scope: 'row' }, r.display_name),
            h('td', {}, h('span', { class: `badge ${['shown', 'delivered'].includes(r.status) ? 'ok' : r.status === 'failed' || r.status === 'no_channel' ? 'danger' : ''}`, 'data-delivery': r.status },
              t(`runner.delivery.${r.status}`)))))))),
      h('p', { class: 'hint' }, t('runner.reminder_hint')),
    ], { kind: 'warn' });
    const details = h('details', { ontoggle: () => { if (details.open && !box.firstChild) load(); } },
      h('summary', {}, t('runner.reminders')), box);
    return details;
  }

  const title = session.number ? t('runner.title', { number: session.number, of: session.of }) : t('runner.catch_up');
  return h('section', {},
    h('p', {}, h('a', { href: `#/cohorts/${session.cohort_id}` }, t('runner.back'))),
    h('h1', {}, title),
    h('p', { class: 'muted' }, fmt.dateTime(session.starts_at, zone), session.phase ? ` · ${t(`runner.phase.${session.phase}`)}` : ''),
    staleNote(data),
    session.status === 'cancelled' ? notice(t('runner.cancelled'), 'warn') : null,
    data.warning ? notice(data.warning, 'warn') : null,
    data.open_alerts.length ? notice(t('runner.alerts_open', { count: data.open_alerts.length }), 'error') : null,
    h('div', { class: 'runner' },
      h('section', { class: 'card', 'aria-labelledby': 'agenda-h' }, h('h2', { id: 'agenda-h' }, t('runner.agenda')), agenda),
      h('section', { class: 'card', 'aria-labelledby': 'att-h' },
        h('div', { class: 'spread' }, h('h2', { id: 'att-h' }, t('runner.attendance')),
          button(t('runner.all_present'), allPresent, { kind: 'secondary', 'data-all-present': '' })),
        counts, problems, members)),
    h('section', { class: 'card', 'aria-labelledby': 'gn-h' }, h('h2', { id: 'gn-h' }, t('runner.group_note_title')), groupNote()),
    fidelityStep(id, data),  // the last step: how the session was run
    h('section', { class: 'card stack' }, share(), reminders(),
      h('details', {}, h('summary', {}, t('runner.crisis')), h('p', { class: 'crisis' }, data.crisis_text))));
}

function stripStale(data) {
  const copy = { ...data };
  delete copy.__stale;
  return copy;
}
