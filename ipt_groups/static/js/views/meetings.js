// A member's one-to-one meetings (pre-group, mid-group, post-group, follow-up):
// each with its time (booked with a picker, in the cohort's zone), its guide,
// the measures due there and a form to record them; and, for the outcomes page,
// the change kept at follow-up. Kept apart from cohort.js and outcomes.js,
// which only call in here. A measure is queued through the outbox when offline,
// like the runner's.
import * as api from '../core/api.js';
import * as fmt from '../core/fmt.js';
import { language, t, use } from '../core/i18n.js';
import { score } from '../core/measures.js';
import { button, h, loadInto, notice, submitForm } from '../core/ui.js';

function put(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c != null));
}

function pick(map) {
  if (!map || typeof map !== 'object') return map || '';
  return map[language()] || map.en || Object.values(map)[0] || '';
}

// "2027-01-12T17:00:00+00:00" -> "2027-01-12T17:00", the picker's own format.
const pickerValue = (local) => (local ? local.slice(0, 16) : '');

function measureForm(member, meeting, instrument, onSaved) {
  const answers = {};
  const message = h('div', { 'aria-live': 'polite' });
  const total = h('p', { class: 'big', 'aria-live': 'polite' });
  const items = instrument.items.map((item, n) => {
    const values = [];
    for (let v = instrument.min_answer; v <= instrument.max_answer; v += 1) values.push(v);
    return h('fieldset', { class: 'field' }, h('legend', {}, `${n + 1}. ${pick(item.text)}`),
      h('div', { class: 'seg', role: 'radiogroup' }, values.map((v) => {
        const b = h('button', { type: 'button', role: 'radio', 'aria-checked': 'false', 'data-value': v,
          onclick: () => {
            answers[item.key] = v;
            b.parentElement.querySelectorAll('button').forEach((x) => x.setAttribute('aria-checked', String(x === b)));
            const s = score(instrument, answers);
            total.textContent = s ? t('meetings.total', { total: s.total }) : '';
          } }, String(v));
        return b;
      })));
  });
  const form = h('form', { class: 'stack', novalidate: true, dataset: { measure: instrument.key } },
    h('h4', {}, instrument.name), items, total, message,
    button(t('meetings.save_measure'), null, { type: 'submit' }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const s = score(instrument, answers);
    if (!s) {
      put(message, notice(t('meetings.answer_all'), 'error'));
      return;
    }
    const body = { instrument: instrument.key, answers, meeting_id: meeting.id, client_key: `mm-${crypto.randomUUID()}` };
    await submitForm(form, null, async () => {
      const res = await api.post(`/api/enrolments/${member.id}/assessments`, body,
        { queue: t('meetings.q_measure', { name: member.display_name, instrument: instrument.name }) });
      onSaved(res.__queued ? notice(t('meetings.saved_offline'), 'warn')
        : notice(t('meetings.saved_measure', { total: s.total }), 'ok'),
      res.crisis_text ? h('div', { class: 'crisis', role: 'alert' }, h('p', {}, res.crisis_text)) : null);
    }, { message });
  });
  return form;
}

async function guideBox(member, meeting) {
  const box = h('div', { class: 'stack', dataset: { guide: meeting.kind } });
  await loadInto(box, () => api.get(`/api/meetings/${meeting.id}/guide`, { offline: true }), (guide) => drawGuide(box, member, meeting, guide));
  return box;
}

// draw() fills the box itself: the forms under the guide redraw it when a measure is saved.
async function drawGuide(box, member, meeting, guide) {
  const instruments = await api.get('/api/instruments', { offline: true }).catch(() => []);
  const byKey = Object.fromEntries(instruments.map((i) => [i.key, i]));
  const forms = h('div', { class: 'stack' });
  const draw = (...said) => put(box,
    h('h4', {}, t('meetings.guide_title')),
    h('ol', { class: 'list' }, guide.agenda.map((item) => h('li', {},
      h('strong', {}, item.title), ' ', h('span', { class: 'muted' }, t('meetings.minutes', { minutes: item.minutes })),
      h('br'), item.guidance))),
    h('p', { dataset: { due: guide.due.join(' ') } }, h('strong', {}, t('meetings.due')), ' ',
      guide.due.length ? guide.due.map((k) => `${byKey[k]?.name || k} ${guide.recorded.includes(k) ? t('meetings.recorded') : t('meetings.not_recorded')}`).join(' · ')
        : t('meetings.none_due')),
    said, forms);
  draw();
  guide.due.filter((k) => byKey[k]).forEach((k) => forms.append(measureForm(member, meeting, byKey[k], (...said) => {
    guide.recorded = [...new Set([...guide.recorded, k])];
    put(forms);
    draw(...said);
  })));
}

function meetingRow(member, meeting, cohort, onChanged) {
  const slot = h('div', {});
  const status = h('div', { 'aria-live': 'polite' });
  const when = meeting.local_starts_at
    ? fmt.dateTime(meeting.starts_at, cohort.time_zone) : t('meetings.not_booked');
  const picker = h('input', { type: 'datetime-local', value: pickerValue(meeting.local_starts_at),
    'aria-label': t('meetings.pick_time', { meeting: t(`meetings.kind.${meeting.kind}`) }) });
  const canBook = cohort.can_manage && meeting.status === 'scheduled' && ['enrolled', 'waitlisted'].includes(member.status);
  const book = async () => {
    if (!picker.value) return;
    await submitForm(null, null, async () => {
      await api.patch(`/api/meetings/${meeting.id}`, { starts_at_local: picker.value });
      onChanged(t('meetings.booked'));
    }, { message: status });
  };
  let open = false;
  const guideButton = button(t('meetings.show_guide'), async () => {
    open = !open;
    guideButton.setAttribute('aria-expanded', String(open));
    put(slot, open ? await guideBox(member, meeting) : null);
  }, { kind: 'secondary small', 'aria-expanded': 'false' });
  return h('li', { dataset: { meetingId: meeting.id, kind: meeting.kind } },
    h('div', { class: 'spread' },
      h('div', {}, h('strong', {}, t(`meetings.kind.${meeting.kind}`)), ' ',
        meeting.status === 'cancelled' ? h('span', { class: 'badge warn' }, t('meetings.cancelled')) : null,
        h('br'), h('span', { class: 'muted' }, when)),
      h('div', { class: 'row' },
        canBook ? [picker, button(t('meetings.book'), book, { kind: 'secondary small' })] : null,
        guideButton)),
    status, slot);
}

// The member's meetings, for the cohort's members tab.
export async function memberMeetings(member, cohort) {
  await use('meetings');
  const box = h('div', { class: 'stack staff-meetings' });
  const said = h('div', { 'aria-live': 'polite' });
  const refresh = (message) => loadInto(box, () => api.get(`/api/enrolments/${member.id}`, { offline: true }), (detail) => {
    put(said, message ? notice(message, 'ok') : null);
    return [h('h4', {}, t('meetings.title', { name: member.display_name })), said,
      detail.meetings.length
        ? h('ul', { class: 'list' }, detail.meetings.map((m) => meetingRow(detail, m, cohort, refresh)))
        : h('p', { class: 'muted' }, t('meetings.none'))];
  });
  await refresh();
  return box;
}

// Outcomes: was the change at the end kept at follow-up?
export async function sustainedSection(outcomes) {
  await use('meetings');
  const s = outcomes.sustained;
  if (!s) return null;
  const names = Object.fromEntries(outcomes.members.map((m) => [m.enrolment_id, m.display_name]));
  const followed = (outcomes.follow_up || []).filter((r) => r.follow_up_phq9);
  const yesNo = (v) => (v == null ? '—' : t(v ? 'meetings.yes' : 'meetings.no'));
  return h('section', { class: 'card', 'aria-labelledby': 'oc-sustained', dataset: { sustained: '' } },
    h('h2', { id: 'oc-sustained' }, t('meetings.sustained_title')),
    s.with_follow_up ? h('dl', { class: 'staff-facts' },
      h('dt', {}, t('meetings.kept_below_10')),
      h('dd', {}, t('meetings.n_of_m', { n: s.kept_below_10, m: s.below_10_at_end })),
      h('dt', {}, t('meetings.kept_improved')),
      h('dd', {}, t('meetings.n_of_m', { n: s.kept_improved, m: s.improved_at_end })),
      h('dt', {}, t('meetings.mean_since_end')),
      h('dd', {}, s.mean_change == null ? '—' : t('meetings.mean_value', { change: s.mean_change, n: s.with_follow_up })))
      : h('p', { class: 'muted' }, t('meetings.no_follow_up_yet')),
    followed.length ? h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['member', 'end', 'follow_up', 'below_10', 'improved']
        .map((k) => h('th', { scope: 'col' }, t(`meetings.col.${k}`))))),
      h('tbody', {}, followed.map((r) => h('tr', {},
        h('th', { scope: 'row' }, names[r.enrolment_id] || ''),
        h('td', {}, r.end_phq9 ? String(r.end_phq9.total) : '—'),
        h('td', {}, String(r.follow_up_phq9.total)),
        h('td', {}, yesNo(r.kept_below_10)),
        h('td', {}, yesNo(r.kept_improved))))))) : null);
}
