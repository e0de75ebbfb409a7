// The interpersonal inventory: who matters in a member's life.
// - runnerInventories(sessionId): for the session runner, a compact read-only
//   summary beside each member (names, relationship, whom the problem area
//   concerns), expandable to show each person's circle.
// - inventoryPanel(member, {canEdit}): for the member's entry in the cohort
//   view, the editor used at the pre-group meeting and later, and the history.
// Saving sends the version that was edited: if someone else saved meanwhile
// the server answers 409 inventory_stale and we offer a reload instead of
// overwriting their work. The editor needs a connection (it is used at the
// one-to-one meeting, not in the room), so it does not go through the outbox.
import * as api from '../core/api.js';
import * as fmt from '../core/fmt.js';
import { t, use } from '../core/i18n.js';
import {
  button, errorText, field, h, loadInto, loading, notice, showFieldErrors, submitForm, unmatchedErrors,
} from '../core/ui.js';

export const RELATIONSHIPS = ['partner', 'parent', 'child', 'sibling', 'other_family', 'friend', 'neighbour', 'colleague', 'other'];
// Circles of closeness as drawn with the member (see models/inventory.py).
export const CIRCLES = ['inner', 'middle', 'outer'];
const TEXTS = ['good', 'difficult', 'recent_change'];

function personLine(p) {
  return `${p.name} (${t(`inventory.rel.${p.relationship}`)})`;
}

// ---- The runner ---------------------------------------------------------------

export async function runnerInventories(sessionId) {
  await use('inventory');
  // The runner works without it; the member's page has the record.
  const rows = await api.get(`/api/sessions/${sessionId}/inventories`, { offline: true }).catch(() => []);
  const byMember = new Map((rows || []).map((r) => [r.enrolment_id, r]));
  return (member) => summary(byMember.get(member.enrolment_id));
}

function summary(inventory) {
  if (!inventory || !inventory.people.length) {
    return h('p', { class: 'muted', dataset: { inventory: 'none' } }, t('inventory.none'));
  }
  const concerned = inventory.people.filter((p) => p.concerns);
  return h('details', { class: 'inventory-summary', dataset: { inventory: inventory.enrolment_id } },
    h('summary', {}, h('strong', {}, t('inventory.people')), ' ', inventory.people.map(personLine).join(', ')),
    concerned.length ? h('p', {}, concerned.map((p) => t('inventory.concerns_line',
      { area: t(`inventory.area.${p.concerns}`), name: p.name })).join(' · ')) : null,
    h('ul', { class: 'list' }, CIRCLES.map((circle) => {
      const here = inventory.people.filter((p) => p.closeness === circle);
      return here.length ? h('li', {}, h('span', { class: 'muted' }, t(`inventory.circle.${circle}`), ': '),
        here.map(personLine).join(', ')) : null;
    })));
}

// ---- The member's page: editor and history --------------------------------------

export function inventoryPanel(member, { canEdit = false } = {}) {
  const box = h('div', { class: 'stack' });
  const title = h('summary', {}, t('inventory.title'));
  // The cohort page does not load this module's strings itself: name the
  // panel again once they are in (the key would show until then).
  use('inventory').then(() => { title.textContent = t('inventory.title'); }).catch(() => {});
  const details = h('details', { class: 'inventory', dataset: { inventoryFor: member.id } }, title, box);
  details.addEventListener('toggle', async () => {
    if (!details.open || box.childNodes.length) return;
    box.append(loading());
    await use('inventory');
    load(box, member, canEdit);
  });
  return details;
}

function load(box, member, canEdit, message) {
  return loadInto(box, () => api.get(`/api/enrolments/${member.id}/inventory`), (data) => [
    message ? notice(message, 'ok') : null,
    h('p', { class: 'muted' }, data.version
      ? t('inventory.version', { version: data.version, when: fmt.dateTime(data.created_at), who: data.author_name || '—' })
      : t('inventory.empty')),
    canEdit ? editor(box, member, data) : readOnly(data),
    history(member),
  ]);
}

function readOnly(data) {
  if (!data.people.length) return null;
  return h('ul', { class: 'list' }, data.people.map((p) => h('li', {},
    h('strong', {}, personLine(p)), ' · ', t(`inventory.circle.${p.closeness}`),
    p.concerns ? [' · ', t('inventory.concerns_line', { area: t(`inventory.area.${p.concerns}`), name: p.name })] : null,
    TEXTS.filter((k) => p[k]).map((k) => h('p', { class: 'hint' }, `${t(`inventory.field.${k}`)}: ${p[k]}`)))));
}

function select(name, options, value) {
  return h('select', { name }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
}

function personForm(person, index, areas, onRemove) {
  const n = `people.${index}`;
  const name = h('input', { name: `${n}.name`, value: person.name || '', maxlength: 40, autocomplete: 'off', required: true });
  const rel = select(`${n}.relationship`, RELATIONSHIPS.map((r) => [r, t(`inventory.rel.${r}`)]), person.relationship || 'friend');
  const circle = select(`${n}.closeness`, CIRCLES.map((c) => [c, t(`inventory.circle.${c}`)]), person.closeness || 'middle');
  const concerns = select(`${n}.concerns`, [['', t('inventory.concerns_none')],
    ...areas.map((a) => [a, t(`inventory.area.${a}`)])], person.concerns || '');
  const boxes = Object.fromEntries(TEXTS.map((k) => [k, h('textarea', { name: `${n}.${k}`, rows: 2, maxlength: 1000 }, person[k] || '')]));
  const texts = TEXTS.map((k) => field(t(`inventory.field.${k}`), boxes[k]));
  const set = h('fieldset', { class: 'card stack', dataset: { person: person.id || 'new' } },
    h('legend', {}, person.name || t('inventory.new_person')),
    field(t('inventory.field.name'), name, { hint: t('inventory.name_hint') }),
    field(t('inventory.field.relationship'), rel),
    field(t('inventory.field.closeness'), circle, { hint: t('inventory.closeness_hint') }),
    ...texts,
    field(t('inventory.field.concerns'), concerns),
    button(t('inventory.remove'), () => onRemove(set), { kind: 'secondary small' }));
  // From the controls themselves: their names are renumbered after a refusal.
  set.read = () => ({
    ...(person.id ? { id: person.id } : {}),
    name: name.value.trim(),
    relationship: rel.value,
    closeness: circle.value,
    ...Object.fromEntries(TEXTS.map((k) => [k, boxes[k].value.trim()])),
    concerns: concerns.value || null,
  });
  return set;
}

function editor(box, member, data) {
  const list = h('div', { class: 'stack' });
  const message = h('div', { 'aria-live': 'polite' });
  let count = 0;
  const add = (person) => {
    list.append(personForm(person, count, data.problem_areas || [], (set) => set.remove()));
    count += 1;
  };
  data.people.forEach(add);
  const form = h('form', { class: 'stack', novalidate: true, dataset: { inventoryEditor: member.id } },
    h('p', { class: 'hint' }, t('inventory.hint')),
    list,
    h('div', { class: 'row' },
      button(t('inventory.add'), () => { add({}); list.lastElementChild.querySelector('input')?.focus(); }, { kind: 'secondary' }),
      button(t('inventory.save'), null, { type: 'submit' })),
    message);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const sets = [...list.children];
    const people = sets.map((s) => s.read());
    await submitForm(form, null, async () => {
      await api.put(`/api/enrolments/${member.id}/inventory`, { base_version: data.version, people });
      load(box, member, true, t('inventory.saved'));
    }, {
      message,
      onError: (error) => {
        if (error.code === 'inventory_stale') {
          message.replaceChildren(notice(errorText(error), 'error'),
            button(t('inventory.reload'), () => load(box, member, true), { kind: 'secondary' }));
          return true;
        }
        // Field names follow the order on screen, which is the order sent.
        sets.forEach((s, i) => s.querySelectorAll('[name^="people."]').forEach((el) => {
          el.name = el.name.replace(/^people\.\d+\./, `people.${i}.`);
          el.closest('.field').dataset.field = el.name;
        }));
        const { fields } = error;
        if (fields) showFieldErrors(form, fields);
        const rest = fields ? unmatchedErrors(form, fields) : [];
        if (!rest.length) return false;
        message.replaceChildren(notice(rest.join(' '), 'error'));
        return true;
      },
    });
  });
  return form;
}

function history(member) {
  const box = h('div', { class: 'stack' });
  const details = h('details', {}, h('summary', {}, t('inventory.history')), box);
  details.addEventListener('toggle', async () => {
    if (!details.open || box.childNodes.length) return;
    await loadInto(box, () => api.get(`/api/enrolments/${member.id}/inventory/versions`), (versions) => (versions.length
      ? h('ol', { class: 'list' }, versions.map((v) => h('li', {},
        h('strong', {}, t('inventory.version', { version: v.version, when: fmt.dateTime(v.created_at), who: v.author_name || '—' })),
        ['added', 'removed', 'edited'].filter((k) => v.changes[k].length).map((k) => h('p', { class: 'hint' },
          `${t(`inventory.change.${k}`)}: ${v.changes[k].map((p) => p.name).join(', ')}`)))))
      : h('p', { class: 'muted' }, t('inventory.empty'))));
  });
  return details;
}
