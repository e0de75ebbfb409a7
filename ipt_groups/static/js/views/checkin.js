// The self check-in before a session. If an answer signals risk (PHQ-9 item 9
// above 0), the crisis text appears at once, before anything is sent, and
// again with the server's answer; the group's supervisor is told by the server.
import * as api from '../core/api.js';
import * as fmt from '../core/fmt.js';
import { t, use } from '../core/i18n.js';
import { riskAnswered } from '../core/measures.js';
import { button, h, notice, staleNote, submitForm } from '../core/ui.js';

function crisisBox(text) {
  return h('section', { class: 'crisis', role: 'alert', 'data-crisis': '' },
    h('h2', {}, t('checkin.crisis_title')), h('p', {}, text));
}

function scale(instrument, item, answers, onChange) {
  const values = [];
  for (let v = instrument.min_answer; v <= instrument.max_answer; v += 1) values.push(v);
  const name = `${instrument.key}-${item.key}`;
  return h('fieldset', { class: 'field' },
    h('legend', {}, item.text),
    h('div', { class: instrument.choices.length ? 'stack' : 'row' }, values.map((v) => {
      const label = instrument.choices.length ? instrument.choices[v - instrument.min_answer] : String(v);
      return h('label', { class: 'switch' },
        h('input', { type: 'radio', name, value: String(v), checked: answers[item.key] === v,
          onchange: () => { answers[item.key] = v; onChange(); } }),
        h('span', {}, label));
    })));
}

export default async function checkin() {
  await use('participant');
  const due = await api.get('/api/me/check-in', { offline: true });
  // Fetched now so it can be shown with no signal.
  const crisis = await api.get('/api/clinic/crisis-text', { offline: true }).catch(() => null);
  const page = h('section', {}, h('h1', {}, t('checkin.title')), staleNote(due));
  if (!due.due || !due.instruments.length) {
    page.append(notice(t('checkin.nothing_due'), 'ok'), h('a', { href: '#/' }, t('common.home')));
    return page;
  }
  page.append(h('p', {}, t('checkin.intro', { date: fmt.dateTime(due.session_starts_at) })));
  const queue = [...due.instruments];
  const area = h('div');
  page.append(area);

  const showNext = () => {
    const instrument = queue.shift();
    if (!instrument) {
      area.append(notice(t('checkin.thanks'), 'ok'), h('a', { class: 'btn', href: '#/' }, t('common.home')));
      return;
    }
    const answers = {};
    const alarm = h('div', { 'aria-live': 'assertive' });
    const message = h('div', { 'aria-live': 'polite' });
    const onChange = () => {
      if (crisis && !alarm.firstChild && riskAnswered(instrument, answers)) {
        alarm.replaceChildren(crisisBox(crisis.text));
      }
    };
    const form = h('form', { class: 'card', novalidate: true, dataset: { instrument: instrument.key } },
      h('h2', {}, instrument.name),
      instrument.period ? h('p', { class: 'muted' }, instrument.period) : null,
      instrument.items.map((item) => scale(instrument, item, answers, onChange)),
      alarm, message,
      button(t('checkin.send'), null, { type: 'submit' }));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const missing = instrument.items.filter((i) => answers[i.key] === undefined);
      if (missing.length) {
        message.replaceChildren(notice(t('checkin.answer_all'), 'error'));
        return;
      }
      const body = { instrument: instrument.key, answers, client_key: `c-${crypto.randomUUID()}` };
      // The button stays usable while it sends and is disabled once sent (or queued).
      await submitForm(form, null, async () => {
        const result = await api.post('/api/me/check-in', body, { queue: t('checkin.queue_label') });
        form.querySelector('button[type=submit]').disabled = true;
        if (result.__queued) {
          message.replaceChildren(notice(t('common.queued'), 'warn'));
        } else {
          message.replaceChildren(notice(t('checkin.sent'), 'ok'));
          if (result.crisis_text) alarm.replaceChildren(crisisBox(result.crisis_text));
        }
        showNext();
      }, { message });
    });
    area.append(form);
  };
  showNext();
  return page;
}
