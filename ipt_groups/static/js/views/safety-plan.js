// The member's own plan for hard moments (a Stanley-Brown safety plan), in the
// member's language. It is fetched with {offline: true}: once read online, the
// last answer stays in IndexedDB for this person, so the plan opens with no
// signal (the shell and this module come from the service worker's cache).
// The heading says "My plan", not the clinical name: the page title shows in
// the app switcher, where others may see it. No notification links here.
import * as api from '../core/api.js';
import * as fmt from '../core/fmt.js';
import { t, use } from '../core/i18n.js';
import { h, staleNote } from '../core/ui.js';

export const SECTIONS = ['warning_signs', 'coping', 'distractions', 'people', 'professionals', 'environment'];

// One section as a list; people are "name: how to reach them".
export function sectionList(name, items) {
  if (!items || !items.length) return h('p', { class: 'muted' }, t('safety.empty_section'));
  return h('ul', { class: 'safety-items' }, items.map((item) => (name === 'people'
    ? h('li', {}, h('strong', {}, item.name), ': ', item.contact)
    : h('li', {}, item))));
}

export function planSections(sections) {
  return SECTIONS.map((name) => h('section', { class: 'card', dataset: { safetySection: name }, 'aria-labelledby': `sp-${name}` },
    h('h2', { id: `sp-${name}` }, t(`safety.section.${name}`)),
    sectionList(name, sections[name])));
}

export default async function safetyPlan() {
  await use('safety');
  const plan = await api.get('/api/me/safety-plan', { offline: true });
  const parts = [h('h1', {}, t('safety.my_title')), staleNote(plan)];
  parts.push(h('section', { class: 'crisis', 'aria-labelledby': 'sp-crisis' },
    h('h2', { id: 'sp-crisis' }, t('safety.crisis_now')), plan.crisis_text));
  if (!plan.version) {
    parts.push(h('p', { class: 'notice info', dataset: { safetyPlanNone: '' } }, t('safety.my_none')));
    return h('section', {}, parts);
  }
  parts.push(h('p', {}, t('safety.my_intro')),
    h('p', { class: 'muted', dataset: { safetyPlanVersion: String(plan.version) } },
      t('safety.my_updated', { date: fmt.date(plan.created_at), version: plan.version })),
    planSections(plan.sections));
  return h('section', { dataset: { safetyPlan: '' } }, parts);
}
