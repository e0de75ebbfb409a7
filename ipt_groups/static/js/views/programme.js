// The Programme page: how the cohorts a supervisor supervises (an admin: the
// clinic) are doing, and what needs action now, on one screen.
// The filters live in the hash's query (#/programme?start=…&end=…&facilitator_id=…
// &programme_key=…), so a page can be bookmarked or sent to another supervisor;
// each sees it over their own cohorts (the server scopes every figure). So does
// each table's order (…&sort=reach&order=desc, …&facilitator_sort=…&facilitator_order=…):
// a header click rewrites the hash in place (no new history entry, no reload) and a
// bookmarked link reopens both tables sorted that way.
import * as api from '../core/api.js';
import * as fmt from '../core/fmt.js';
import { t, use } from '../core/i18n.js';
import { h, staleNote, stylesheet } from '../core/ui.js';
import { pagedCohorts, pagedFacilitators } from './programme-cohorts.js';
import { changeFigure, funnelFigure, num, pct, signed } from './programme-parts.js';

const FILTERS = ['start', 'end', 'facilitator_id', 'programme_key'];
// The per-cohort table's columns the server sorts by (services/programme_paging.SORTS).
export const SORTS = ['cohort', 'status', 'start', 'enrolled', 'completed', 'mean_change', 'below_10',
  'completers_below_10', 'reach', 'alerts'];

// The filters in the hash: only known names with a value, in a fixed order.
export function readFilters(hash = location.hash) {
  const query = new URLSearchParams(hash.split('?')[1] || '');
  return Object.fromEntries(FILTERS.filter((k) => query.get(k)).map((k) => [k, query.get(k)]));
}

export function queryString(filters) {
  const query = new URLSearchParams();
  for (const k of FILTERS) if (filters[k]) query.set(k, filters[k]);
  const text = query.toString();
  return text ? `?${text}` : '';
}

// The per-facilitator table's columns (services/programme_paging.FACILITATOR_SORTS).
export const FACILITATOR_SORTS = ['facilitator', 'cohorts', 'enrolled', 'completed', 'mean_change',
  'below_10', 'completers_below_10', 'reach', 'alerts'];
// Each table's order in the hash: its query names and the columns it knows.
const ORDERS = {
  cohorts: { sort: 'sort', order: 'order', columns: SORTS },
  facilitators: { sort: 'facilitator_sort', order: 'facilitator_order', columns: FACILITATOR_SORTS },
};

// A table's order in the hash, or null: a known column, asc or desc.
export function readSort(hash = location.hash, table = 'cohorts') {
  const names = ORDERS[table];
  const query = new URLSearchParams(hash.split('?')[1] || '');
  const sort = query.get(names.sort);
  if (!names.columns.includes(sort)) return null;
  return { sort, order: query.get(names.order) === 'desc' ? 'desc' : 'asc' };
}

// The filters, then each table's order (if any), as the hash's query. ``order``
// is the cohort table's; ``facilitatorOrder`` the facilitator table's.
export function pageQuery(filters, order = null, facilitatorOrder = null) {
  const query = new URLSearchParams(queryString(filters).replace(/^\?/, ''));
  for (const [table, chosen] of [['cohorts', order], ['facilitators', facilitatorOrder]]) {
    if (!chosen) continue;
    query.set(ORDERS[table].sort, chosen.sort);
    query.set(ORDERS[table].order, chosen.order);
  }
  const text = query.toString();
  return text ? `?${text}` : '';
}

function filterForm(filters, staff, programmes, app) {
  const select = (name, options, label) => h('label', {}, label,
    h('select', { name },
      h('option', { value: '' }, t('programme.filter.all')),
      options.map(([value, text]) => h('option', { value: String(value), selected: String(value) === filters[name] }, text))));
  const date = (name) => h('label', {}, t(`programme.filter.${name}`),
    h('input', { type: 'date', name, value: filters[name] || '' }));
  return h('form', {
    class: 'card row programme-filters', dataset: { filters: '' }, 'aria-label': t('programme.filter.label'),
    onsubmit: (event) => {
      event.preventDefault();
      const data = new FormData(event.target);
      app.go(`/programme${pageQuery(Object.fromEntries(FILTERS.map((k) => [k, data.get(k)])), readSort())}`);
    },
  },
  date('start'), date('end'),
  select('facilitator_id', staff.map((p) => [p.id, p.display_name]), t('programme.filter.facilitator')),
  select('programme_key', programmes.map((p) => [p.key, p.name]), t('programme.filter.programme')),
  h('button', { type: 'submit', class: 'btn' }, t('programme.filter.apply')),
  Object.keys(filters).length ? h('a', { class: 'btn secondary', href: '#/programme' }, t('programme.filter.clear')) : null);
}

function headline(totals) {
  const r = totals.reminders;
  const items = [
    ['running', t('programme.head.cohorts'), t('programme.head.cohorts_value', {
      running: num(totals.running), completed: num(totals.completed), planned: num(totals.planned) })],
    ['enrolled', t('programme.head.enrolled'), num(totals.funnel.enrolled)],
    ['mean_change', t('programme.head.mean_change'), totals.summary.mean_change == null ? t('programme.head.no_change')
      : t('programme.head.mean_change_value', { change: signed(totals.summary.mean_change), n: num(totals.summary.with_change) })],
    ['below_10', t('programme.head.below_10'), pct(totals.summary.share_latest_below_10)],
    ['completers_below_10', t('programme.head.completers_below_10'), totals.completers.with_change
      ? t('programme.head.completers_value', { share: pct(totals.completers.share_latest_below_10), n: num(totals.completers.with_change) })
      : '—'],
    ['reach', t('programme.head.reach'), r.due ? t('programme.head.reach_value', {
      share: pct(r.share_sent), sent: num(r.sent), due: num(r.due),
      push: num(r.by_channel.push || 0), sms: num(r.by_channel.sms || 0), email: num(r.by_channel.email || 0),
    }) : t('programme.head.no_reminders')],
  ];
  return h('dl', { class: 'programme-head', dataset: { headline: '' } },
    items.map(([key, label, value]) => h('div', {}, h('dt', {}, label), h('dd', { dataset: { figure: key } }, value))));
}

function hours(n) {
  return n >= 48 ? t('programme.age.days', { n: num(Math.floor(n / 24)) }) : t('programme.age.hours', { n: num(Math.floor(n)) });
}

function actionList(key, items, line) {
  return h('section', { class: 'card', 'aria-labelledby': `pa-${key}`, dataset: { action: key } },
    h('h3', { id: `pa-${key}` }, t(`programme.action.${key}`), ' ', h('span', { class: 'badge' }, num(items.length))),
    items.length ? h('ul', { class: 'stack' }, items.map((x) => h('li', { dataset: { cohortId: x.cohort_id } }, line(x))))
      : h('p', { class: 'muted' }, t('programme.action.none')));
}

function needsAction(action) {
  const cohortLink = (x, where = '') => h('a', { href: `#/cohorts/${x.cohort_id}${where}` }, x.cohort_name);
  return h('section', { class: 'stack', 'aria-labelledby': 'p-action' },
    h('h2', { id: 'p-action' }, t('programme.action.title')),
    h('p', { dataset: { alertCounts: '' } }, t('programme.action.alert_counts', {
      open: num(action.open_alert_count), escalated: num(action.escalated_count) }),
    ' ', h('a', { href: '#/alerts' }, t('programme.action.to_alerts'))),
    h('div', { class: 'grid' },
      actionList('alerts', action.open_alerts, (a) => [cohortLink(a), ' · ', hours(a.age_hours), ' ',
        a.escalated_at ? h('span', { class: 'badge warn', dataset: { escalated: '' } }, t('programme.action.escalated')) : null]),
      actionList('follow_ups', action.overdue_follow_ups, (o) => [cohortLink(o), ' · ',
        t('programme.action.follow_ups_value', { n: num(o.count), since: fmt.shortDate(o.oldest_due_at) })]),
      actionList('below_minimum', action.below_minimum, (c) => [cohortLink(c), ' · ',
        t('programme.action.size_value', { members: num(c.current_members), minimum: num(c.group_size_min) })]),
      actionList('unreachable', action.unreachable, (u) => [cohortLink(u), ' · ',
        t('programme.action.unreachable_value', { n: num(u.count) })])));
}

export default async function programmeView({ app }) {
  await use('staff', 'programme');
  stylesheet('staff');
  stylesheet('chart');
  stylesheet('programme');
  const filters = readFilters();
  const qs = queryString(filters);
  // Both tables' orders, kept in the hash in place (replaceState: no hashchange,
  // no reload), each click keeping the other table's.
  const orders = { cohorts: readSort(), facilitators: readSort(location.hash, 'facilitators') };
  const keep = (table) => (next) => {
    orders[table] = next;
    history.replaceState(history.state, '', `#/programme${pageQuery(filters, orders.cohorts, orders.facilitators)}`);
  };
  const [body, staff, programmes] = await Promise.all([
    api.get(`/api/programme${pageQuery(filters, orders.cohorts, orders.facilitators)}`, { offline: true }),
    api.get('/api/staff?role=facilitator', { offline: true }).catch(() => []),
    api.get('/api/programmes', { offline: true }).catch(() => []),
  ]);
  const csv = `/api/programme.csv${qs}`;
  const named = `${csv}${qs ? '&' : '?'}pseudonymous=false`;
  return h('section', { class: 'stack staff-page programme-page', dataset: { programme: '' } },
    h('h1', {}, t('programme.title')),
    staleNote(body),
    filterForm(filters, staff, programmes, app),
    h('p', { class: 'hint' }, t('programme.scope_hint')),
    h('section', { class: 'card', 'aria-labelledby': 'p-head' }, h('h2', { id: 'p-head' }, t('programme.head.title')), headline(body.totals)),
    needsAction(body.action),
    h('div', { class: 'grid' },
      h('section', { class: 'card', 'aria-labelledby': 'p-funnel' }, h('h2', { id: 'p-funnel' }, t('programme.funnel.title')), funnelFigure(body.totals.funnel)),
      h('section', { class: 'card', 'aria-labelledby': 'p-change' },
        h('h2', { id: 'p-change' }, t('programme.change.title')), changeFigure(body.months))),
    h('section', { class: 'card', 'aria-labelledby': 'p-fac' },
      h('h2', { id: 'p-fac' }, t('programme.by_facilitator')),
      body.facilitators.length
        ? pagedFacilitators(body, qs, { order: orders.facilitators, onOrder: keep('facilitators') })
        : h('p', { class: 'muted' }, t('programme.empty'))),
    h('section', { class: 'card', 'aria-labelledby': 'p-cohorts' },
      h('h2', { id: 'p-cohorts' }, t('programme.by_cohort')),
      body.cohorts.length
        ? pagedCohorts(body, qs, { order: orders.cohorts, onOrder: keep('cohorts') })
        : h('p', { class: 'muted' }, t('programme.empty'))),
    h('section', { class: 'card', 'aria-labelledby': 'p-export' },
      h('h2', { id: 'p-export' }, t('programme.export.title')),
      h('p', { class: 'hint' }, t('programme.export.hint')),
      h('p', { class: 'row' },
        h('a', { class: 'btn secondary', href: csv, download: 'programme.csv', dataset: { csv: 'pseudonymous' } }, t('programme.export.pseudonymous')),
        h('a', { class: 'btn secondary', href: named, download: 'programme-named.csv', dataset: { csv: 'named' } }, t('programme.export.named')))));
}
