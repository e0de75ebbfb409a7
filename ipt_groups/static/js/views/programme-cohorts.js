// The Programme page's per-cohort and per-facilitator tables, a page at a time.
// A clinic holds thousands of cohorts and hundreds of facilitators, so the
// server sorts and slices both tables (GET /api/programme?page=&per_page=&sort=
// &order=, see cohort_paging; facilitator_page=&facilitator_per_page=
// &facilitator_sort=&facilitator_order=, see facilitator_paging); every other
// figure on the page still covers all of them, and the CSV has every cohort.
// While everything fits on one page a table sorts itself, as before; once it
// does not, a column header asks the server for a first page in that order and
// "Show more" appends the next one. ``order`` ({ sort, order }, from the URL) is
// the order to open with; ``onOrder`` hears every new order (views/programme.js
// keeps the cohort table's in the URL).
import * as api from '../core/api.js';
import { t } from '../core/i18n.js';
import { h } from '../core/ui.js';
import { cohortTable, facilitatorTable, num } from './programme-parts.js';

// How each table is asked for and answered: its rows' key, its paging's key,
// its query names, the table builder, the data-* names and the status text.
const TABLES = {
  cohorts: {
    rows: 'cohorts', paging: 'cohort_paging', params: ['page', 'per_page', 'sort', 'order'],
    table: cohortTable, holder: 'cohortPages', status: 'cohortPaging', shown: 'programme.paging.shown',
  },
  facilitators: {
    rows: 'facilitators', paging: 'facilitator_paging',
    params: ['facilitator_page', 'facilitator_per_page', 'facilitator_sort', 'facilitator_order'],
    table: facilitatorTable, holder: 'facilitatorPages', status: 'facilitatorPaging',
    shown: 'programme.paging.shown_facilitators',
  },
};

function pagedTable(kind, body, qs, { order = null, onOrder = () => {} } = {}) {
  const spec = TABLES[kind];
  const holder = h('div', { dataset: { [spec.holder]: '' } });
  let rows = body[spec.rows];
  let paging = body[spec.paging];
  let busy = false;

  async function fetchPage(page, sort, dir) {
    if (busy) return;
    busy = true;
    const query = new URLSearchParams(qs.replace(/^\?/, ''));
    const [pageName, perPageName, sortName, orderName] = spec.params;
    const asked = { [pageName]: page, [perPageName]: paging.per_page, [sortName]: sort, [orderName]: dir };
    for (const [k, v] of Object.entries(asked)) query.set(k, String(v));
    try {
      const next = await api.get(`/api/programme?${query}`);
      rows = page === 1 ? next[spec.rows] : [...rows, ...next[spec.rows]];
      paging = next[spec.paging];
    } finally {
      busy = false;
    }
    draw();
  }

  function draw() {
    const paged = paging.pages > 1;
    const server = paged ? {
      sort: paging.sort,
      order: paging.order,
      onSort: (sort, dir) => { onOrder({ sort, order: dir }); fetchPage(1, sort, dir); },
    } : null;
    // One page holds every row: the table sorts itself, starting from the URL's order.
    const local = paged ? null : { initial: order, onSort: (sort, dir) => { order = { sort, order: dir }; onOrder(order); } };
    const more = paging.page < paging.pages;
    holder.replaceChildren(
      spec.table(rows, server, local),
      paged ? h('p', { class: 'row', dataset: { [spec.status]: '' } },
        h('span', { class: 'muted', 'aria-live': 'polite', dataset: { shown: rows.length } },
          t(spec.shown, { shown: num(rows.length), total: num(paging.total) })),
        more ? h('button', {
          type: 'button', class: 'btn secondary', dataset: { more: '' },
          onclick: () => fetchPage(paging.page + 1, paging.sort, paging.order),
        }, t('programme.paging.more', { n: num(Math.min(paging.per_page, paging.total - rows.length)) })) : null) : null);
  }

  draw();
  return holder;
}

export function pagedCohorts(body, qs, options = {}) {
  return pagedTable('cohorts', body, qs, options);
}

export function pagedFacilitators(body, qs, options = {}) {
  return pagedTable('facilitators', body, qs, options);
}
