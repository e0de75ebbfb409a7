// A member's safety plan (staff, tablets): the six sections as editable lines,
// saved as a new version on top of the one on screen (a 409 says someone saved
// since; nothing typed is lost), the earlier versions, and, when opened from a
// risk alert (?alert=ID), acknowledging that alert with the version made.
//
// Saving needs the network: a plan is versioned against what the writer saw,
// which a queued write (sent later, perhaps after a colleague's save) could not
// honour, so offline the save says so and what was typed stays on screen.
import * as api from '../core/api.js';
import * as fmt from '../core/fmt.js';
import { t, use } from '../core/i18n.js';
import {
  button, field, h, loadInto, notice, showFieldErrors, staleNote, stylesheet, submitForm, unmatchedErrors,
} from '../core/ui.js';
import { planSections, SECTIONS } from './safety-plan.js';

stylesheet('safety');

const MAX_ITEMS = 10;
const LIMITS = { professionals: 2000, people_name: 80, people_contact: 120 };

function copy(sections) {
  return Object.fromEntries(SECTIONS.map((name) => [name, (sections[name] || []).map((i) => (typeof i === 'string' ? i : { ...i }))]));
}

// Lines left blank are not part of the plan: drop them rather than refuse.
function cleaned(state) {
  const out = {};
  for (const name of SECTIONS) {
    out[name] = name === 'people'
      ? state.people.map((p) => ({ name: p.name.trim(), contact: p.contact.trim() })).filter((p) => p.name || p.contact)
      : state[name].map((s) => s.trim()).filter(Boolean);
  }
  return out;
}

function sectionEditor(name, state) {
  const list = h('div', { class: 'stack' });
  const add = button(t('safety.add_item'), () => {
    state[name].push(name === 'people' ? { name: '', contact: '' } : '');
    draw();
    list.querySelector('.safety-line:last-child input')?.focus();
  }, { kind: 'secondary small', dataset: { addItem: name } });
  const draw = () => {
    list.replaceChildren(...state[name].map((item, i) => {
      const number = i + 1;
      const remove = button(t('safety.remove_item'), () => { state[name].splice(i, 1); draw(); },
        { kind: 'quiet small', 'aria-label': t('safety.remove_item_name', { number }) });
      if (name === 'people') {
        const who = h('input', { name: `sections.people.${i}.name`, value: item.name, maxlength: LIMITS.people_name, autocomplete: 'off', oninput: (e) => { item.name = e.target.value; } });
        const how = h('input', { name: `sections.people.${i}.contact`, value: item.contact, maxlength: LIMITS.people_contact, autocomplete: 'off', oninput: (e) => { item.contact = e.target.value; } });
        return h('div', { class: 'safety-line person' },
          field(`${t('safety.person_name')} (${number})`, who), field(t('safety.person_contact'), how), remove);
      }
      const long = name === 'professionals';
      const input = long
        ? h('textarea', { name: `sections.${name}.${i}`, rows: '5', maxlength: LIMITS.professionals, oninput: (e) => { state[name][i] = e.target.value; } }, item)
        : h('input', { name: `sections.${name}.${i}`, value: item, maxlength: 200, autocomplete: 'off', oninput: (e) => { state[name][i] = e.target.value; } });
      return h('div', { class: 'safety-line' }, field(t('safety.item', { number }), input), remove);
    }));
    add.disabled = state[name].length >= MAX_ITEMS;
  };
  draw();
  return h('fieldset', { class: 'card safety-section', dataset: { safetySection: name } },
    h('legend', {}, t(`safety.section.${name}`)),
    h('p', { class: 'hint' }, t(`safety.hint.${name}`)),
    list, add);
}

function versionLine(plan) {
  if (!plan.version) return notice(t('safety.draft'), 'info');
  return h('p', { class: 'muted', dataset: { planVersion: String(plan.version) } },
    t('safety.version_by', { version: plan.version, date: fmt.dateTime(plan.created_at), name: plan.author_name || '-' }));
}

function historyBox(id) {
  const body = h('div', { class: 'stack' });
  const box = h('details', { class: 'card' }, h('summary', {}, t('safety.history')), body);
  box.addEventListener('toggle', async () => {
    if (!box.open) return;
    await loadInto(body, () => api.get(`/api/enrolments/${id}/safety-plan/versions`), (versions) => (versions.length
        ? h('div', {}, versions.map((v) => h('article', { class: 'safety-version stack' },
          h('h3', {}, t('safety.version_by', { version: v.version, date: fmt.dateTime(v.created_at), name: v.author_name || '-' })),
          SECTIONS.filter((n) => v.sections[n]?.length).map((n) => [h('h4', {}, t(`safety.section.${n}`)),
            h('ul', { class: 'safety-items' }, v.sections[n].map((i) => h('li', {}, typeof i === 'string' ? i : `${i.name}: ${i.contact}`)))]))))
        : h('p', { class: 'muted' }, t('safety.history_empty'))));
  });
  return box;
}

function alertBox(alert, plan) {
  if (!alert) return null;
  const message = h('div', { 'aria-live': 'polite' });
  const canAck = alert.status === 'open' && alert.can_acknowledge && plan.version > 0;
  return h('section', { class: 'card stack', dataset: { fromAlert: String(alert.id) } },
    h('h2', {}, t('safety.alert_link')),
    h('p', {}, h('a', { href: '#/alerts' }, t('safety.back_to_alerts'))),
    canAck ? button(t('safety.ack_with_plan'), (e) => submitForm(null, e.target, async () => {
      await api.post(`/api/alerts/${alert.id}/acknowledge`, { action: 'safety_plan', safety_plan_version_id: plan.id });
      alert.status = 'acknowledged';
      e.target.remove();
      message.replaceChildren(notice(t('safety.acked', { version: plan.version }), 'ok'));
    }, { message }), { dataset: { ackWithPlan: '' } }) : null,
    alert.status === 'open' && alert.can_acknowledge && !plan.version ? h('p', { class: 'hint' }, t('safety.ack_after_save')) : null,
    message);
}

export default async function safetyPlanEdit({ params }) {
  await use('safety', 'alerts');
  const id = params.id;
  const alertId = new URLSearchParams(location.hash.split('?')[1] || '').get('alert');
  // Kept on the tablet like the runner, so a plan opened once can be read in a
  // room with no signal (saving it still needs the network).
  const [first, alert] = await Promise.all([
    api.get(`/api/enrolments/${id}/safety-plan`, { offline: true }),
    alertId ? api.get(`/api/alerts/${alertId}`, { offline: true }).catch(() => null) : null,
  ]);
  const root = h('div', { class: 'stack staff-page' });
  const render = (plan, flash = null) => {
    const head = [
      // The h1 becomes document.title (app switcher, history, bookmarks) where
      // others may see it: neither the member's name nor "safety" there. The
      // name goes in the sub-heading, on the page only.
      h('h1', {}, t('safety.edit_title_plain')),
      h('h2', { dataset: { planMember: '' } }, t('safety.edit_title', { name: plan.display_name })),
      h('p', {}, t('safety.edit_intro')),
      h('p', { class: 'muted' }, t('safety.language', { language: t(`safety.lang.${plan.language}`) })),
      versionLine(plan),
      staleNote(plan),
      flash,
    ];
    if (!plan.can_edit) {
      root.replaceChildren(h('section', { class: 'card stack' }, head, notice(t('safety.read_only'), 'info')),
        alertBox(alert, plan), planSections(plan.sections), historyBox(id));
      return;
    }
    const state = copy(plan.sections);
    const message = h('div', { 'aria-live': 'polite' });
    const form = h('form', { class: 'stack', novalidate: true, dataset: { safetyPlanForm: '' } },
      SECTIONS.map((name) => sectionEditor(name, state)),
      message,
      button(t('safety.save'), null, { type: 'submit', dataset: { savePlan: '' } }));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      message.replaceChildren();
      await submitForm(form, form.querySelector('button[type=submit]'), async () => {
        const saved = await api.put(`/api/enrolments/${id}/safety-plan`, { base_version: plan.version, sections: cleaned(state) });
        api.remember(`/api/enrolments/${id}/safety-plan`, saved).catch(() => {});
        render(saved, notice(t('safety.saved', { version: saved.version }), 'ok'));
      }, {
        message,
        onError: (error) => {
          if (error.status === 409 && error.code === 'stale_safety_plan') {
            message.replaceChildren(notice(t('safety.stale'), 'warn'),
              button(t('safety.load_newest'), () => submitForm(null, null, async () => {
                render(await api.get(`/api/enrolments/${id}/safety-plan`));
              }, { message: (node) => message.append(node) }),
              { kind: 'secondary', dataset: { loadNewest: '' } }));
            return true;
          }
          const matched = error.fields && showFieldErrors(form, error.fields);
          const rest = error.fields ? unmatchedErrors(form, error.fields) : [];
          if (rest.length) message.replaceChildren(notice(rest.join(' '), 'error'));
          return matched || rest.length > 0;
        },
      });
    });
    root.replaceChildren(h('section', { class: 'card stack' }, head), alertBox(alert, plan), form, historyBox(id));
  };
  render(first);
  return root;
}
