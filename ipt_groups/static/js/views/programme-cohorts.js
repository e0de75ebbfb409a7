// The Programme page's per-cohort table, a page at a time. A clinic holds
// thousands of cohorts, so the server sorts and slices the table
// (GET /api/programme?page=&per_page=&sort=&order=, see cohort_paging); every
// other figure on the page still covers all of them, and the CSV has every row.
// While everything fits on one page the table sorts itself, as before; once it
// does not, a column header asks the server for a first page in that order and
// "Show more" appends the next one. ``order`` ({ sort, order }, from the URL) is
// the order to open with; ``onOrder`` hears every new order (views/programme.js
// keeps it in the URL).
import * as api from '../core/api.js';
import { t } from '../core/i18n.js';
import { h } from '../core/ui.js';
import { cohortTable, num } from './programme-parts.js';

export function pagedCohorts(body, qs, { order = null, onOrder = () => {} } = {}) {
  const holder = h('div', { dataset: { cohortPages: '' } });
  let rows = body.cohorts;
  let paging = body.cohort_paging;
  let busy = false;

  async function fetchPage(page, sort, order) {
    if (busy) return;
    busy = true;
    const query = new URLSearchParams(qs.replace(/^\?/, ''));
    for (const [k, v] of Object.entries({ page, per_page: paging.per_page, sort, order })) query.set(k, String(v));
    try {
      const next = await api.get(`/api/programme?${query}`);
      rows = page === 1 ? next.cohorts : [...rows, ...next.cohorts];
      paging = next.cohort_paging;
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
      cohortTable(rows, server, local),
      paged ? h('p', { class: 'row', dataset: { cohortPaging: '' } },
        h('span', { class: 'muted', 'aria-live': 'polite', dataset: { shown: rows.length } },
          t('programme.paging.shown', { shown: num(rows.length), total: num(paging.total) })),
        more ? h('button', {
          type: 'button', class: 'btn secondary', dataset: { more: '' },
          onclick: () => fetchPage(paging.page + 1, paging.sort, paging.order),
        }, t('programme.paging.more', { n: num(Math.min(paging.per_page, paging.total - rows.length)) })) : null) : null);
  }

  draw();
  return holder;
}
