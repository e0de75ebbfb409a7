// The Programme page's pieces: the retention funnel and the PHQ-9 chart (inline
// SVG, each with the same numbers in a table for screen readers), and the
// sortable tables per facilitator and per cohort. Pure builders from the API's
// figures to elements; the page (views/programme.js) fetches and lays them out.
import { lineChart } from '../core/chart.js';
import * as fmt from '../core/fmt.js';
import { t } from '../core/i18n.js';
import { h, s } from '../core/ui.js';
import { statusBadge } from './cohorts.js';

let seq = 0;

export const num = (n, digits = 0) => (n == null ? '—'
  : fmt.number(n, { minimumFractionDigits: digits, maximumFractionDigits: digits }));
export const signed = (n, digits = 1) => (n == null ? '—'
  : (n > 0 ? '+' : n < 0 ? '−' : '') + num(Math.abs(n), digits));
export const pct = (share) => (share == null ? '—'
  : fmt.number(share, { style: 'percent', maximumFractionDigits: 0 }));
const share = (n, of) => (of ? n / of : null);

// The chart's pixel width: text stays readable on a phone and a tablet.
function width() {
  const main = document.getElementById('main');
  return Math.max(300, Math.min(720, (main?.clientWidth || window.innerWidth) - 48));
}

const STAGES = ['enrolled', 'started', 'reached_midpoint', 'completed'];

// Horizontal bars, one per stage, labelled with the count and the share of joined.
export function funnelFigure(funnel) {
  const W = 440;  // it shares a row with the PHQ-9 chart on a tablet: drawn small, scaled to fit
  const rowH = 34;
  const pad = { l: 200, r: 80, t: 8 };  // room for the longest stage name (es)
  const H = pad.t + rowH * STAGES.length + 8;
  const base = Math.max(funnel.enrolled, 1);
  const id = `pf${++seq}`;
  const svg = s('svg', {
    class: 'chart staff-chart', role: 'img', viewBox: `0 0 ${W} ${H}`, width: W, height: H,
    'aria-labelledby': `${id}-t ${id}-d`, preserveAspectRatio: 'xMinYMin meet',
  },
  s('title', { id: `${id}-t` }, t('programme.funnel.title')),
  s('desc', { id: `${id}-d` }, t('programme.funnel.desc', {
    enrolled: num(funnel.enrolled), completed: num(funnel.completed), share: pct(share(funnel.completed, funnel.enrolled)),
  })),
  STAGES.map((stage, i) => {
    const y = pad.t + i * rowH;
    const w = ((W - pad.l - pad.r) * funnel[stage]) / base;
    return s('g', { 'data-stage': stage },
      s('text', { x: pad.l - 8, y: y + 20, 'text-anchor': 'end' }, t(`programme.stage.${stage}`)),
      s('rect', { x: pad.l, y: y + 6, width: Math.max(0, w), height: rowH - 12, fill: '#1f5f5b' }),
      s('text', { x: pad.l + w + 6, y: y + 20 }, `${num(funnel[stage])} · ${pct(share(funnel[stage], funnel.enrolled))}`));
  }));
  const table = h('details', {},
    h('summary', {}, t('programme.show_table')),
    h('div', { class: 'table-wrap' }, h('table', { 'data-funnel-table': '' },
      h('caption', {}, t('programme.funnel.title')),
      h('thead', {}, h('tr', {}, ['stage', 'people', 'share'].map((k) => h('th', { scope: 'col' }, t(`programme.col.${k}`))))),
      h('tbody', {}, STAGES.map((stage) => h('tr', { dataset: { stage } },
        h('th', { scope: 'row' }, t(`programme.stage.${stage}`)),
        h('td', {}, num(funnel[stage])),
        h('td', {}, pct(share(funnel[stage], funnel.enrolled)))))))));
  return [h('figure', { class: 'staff-figure' }, svg), table];
}

// Mean PHQ-9 change of the cohorts that started each month (core/chart.js).
export function changeFigure(months) {
  const points = months.map((m, i) => ({ m, i })).filter(({ m }) => m.summary.mean_change != null)
    .map(({ m, i }) => ({
      x: i, y: m.summary.mean_change,
      title: t('programme.change.point', { month: m.month, change: signed(m.summary.mean_change), n: m.summary.with_change }),
      note: `n=${m.summary.with_change}`,
    }));
  if (!points.length) return h('p', { class: 'muted' }, t('programme.change.none'));
  const ys = points.map((p) => p.y);
  const lo = Math.min(-10, Math.floor(Math.min(...ys)));
  const hi = Math.max(2, Math.ceil(Math.max(...ys)));
  const ticks = [];
  for (let v = Math.ceil(lo / 2) * 2; v <= hi; v += 2) ticks.push(v);
  const chart = lineChart({
    width: width(), height: 220, pad: { l: 40, r: 20, t: 16, b: 28 },
    x: [-0.5, Math.max(months.length - 0.5, 0.5)], y: [lo, hi], yTicks: ticks, axes: true,
    xTicks: months.map((m, i) => ({ x: i, label: m.month })),
    bands: [{ y: 0, main: true }],
    series: [{ points, className: 'trend-mean', r: 4 }],
    title: t('programme.change.title'),
    desc: t('programme.change.desc', { months: points.length }),
  });
  const table = h('details', {},
    h('summary', {}, t('programme.show_table')),
    h('div', { class: 'table-wrap' }, h('table', { class: 'trend-table' },
      h('caption', {}, t('programme.change.title')),
      h('thead', {}, h('tr', {}, ['month', 'cohorts', 'with_change', 'mean_change', 'below_10']
        .map((k) => h('th', { scope: 'col' }, t(`programme.col.${k}`))))),
      h('tbody', {}, months.map((m) => h('tr', {},
        h('th', { scope: 'row' }, m.month), h('td', {}, num(m.cohorts)), h('td', {}, num(m.summary.with_change)),
        h('td', {}, signed(m.summary.mean_change)), h('td', {}, pct(m.summary.share_latest_below_10))))))));
  return [h('figure', { class: 'trend-figure' }, chart), table];
}

// Columns shared by both tables: [key, value for sorting, cell].
const FIGURES = [
  ['cohorts', (r) => r.cohorts, (r) => num(r.cohorts)],
  ['enrolled', (r) => r.funnel.enrolled, (r) => num(r.funnel.enrolled)],
  ['completed', (r) => share(r.funnel.completed, r.funnel.enrolled) ?? -1,
    (r) => `${num(r.funnel.completed)} (${pct(share(r.funnel.completed, r.funnel.enrolled))})`],
  ['mean_change', (r) => r.summary.mean_change ?? 99, (r) => signed(r.summary.mean_change)],
  ['below_10', (r) => r.summary.share_latest_below_10 ?? -1, (r) => pct(r.summary.share_latest_below_10)],
  ['completers_below_10', (r) => r.completers.share_latest_below_10 ?? -1, (r) => pct(r.completers.share_latest_below_10)],
  ['reach', (r) => r.reminders.share_sent ?? -1,
    (r) => (r.reminders.due ? `${pct(r.reminders.share_sent)} (${num(r.reminders.sent)}/${num(r.reminders.due)})` : '—')],
  ['alerts', (r) => r.open_alerts, (r) => num(r.open_alerts)],
];

// A table whose column headers are buttons that sort it (aria-sort says how).
// With ``server`` ({ sort, order, onSort }) the rows are one page of a longer,
// server-sorted list: a header asks onSort(key, 'asc'|'desc') for a new first page
// instead of sorting the page it holds (views/programme-cohorts.js).
// With ``local`` ({ initial: { sort, order } | null, onSort }) the table sorts
// itself, opening in ``initial`` order and telling onSort(key, order) of each click.
function sortable(name, caption, columns, rows, rowAttrs, server = null, local = null) {
  const start = server || local?.initial;
  let by = start ? Math.max(0, columns.findIndex(([key]) => key === start.sort)) : 0;
  let dir = start?.order === 'desc' ? -1 : 1;
  const tbody = h('tbody', {});
  const heads = columns.map(([key], i) => h('th', { scope: 'col', 'aria-sort': 'none' },
    h('button', { type: 'button', class: 'programme-sort', dataset: { sort: key }, onclick: () => sortBy(i) }, t(`programme.col.${key}`))));
  const draw = () => {
    const [, value] = columns[by];
    const sorted = server ? rows : [...rows].sort((a, b) => {
      const x = value(a); const y = value(b);
      return (typeof x === 'string' ? x.localeCompare(y) : x - y) * dir;
    });
    tbody.replaceChildren(...sorted.map((r) => h('tr', rowAttrs(r),
      columns.map(([, , cell], i) => (i === 0 ? h('th', { scope: 'row' }, cell(r)) : h('td', {}, cell(r)))))));
    heads.forEach((th, i) => th.setAttribute('aria-sort', i === by ? (dir > 0 ? 'ascending' : 'descending') : 'none'));
  };
  function sortBy(i) {
    dir = i === by ? -dir : 1;
    by = i;
    if (server) server.onSort(columns[i][0], dir > 0 ? 'asc' : 'desc');
    else {
      local?.onSort(columns[i][0], dir > 0 ? 'asc' : 'desc');
      draw();
    }
  }
  draw();
  return h('div', { class: 'table-wrap' }, h('table', { dataset: { table: name } },
    h('caption', { class: 'programme-caption' }, caption), h('thead', {}, h('tr', {}, heads)), tbody));
}

export function facilitatorTable(rows, server = null, local = null) {
  const columns = [['facilitator', (r) => r.display_name.toLocaleLowerCase(), (r) => r.display_name], ...FIGURES];
  return sortable('facilitators', t('programme.by_facilitator'), columns, rows, (r) => ({ dataset: { userId: r.user_id } }), server, local);
}

export function cohortTable(rows, server = null, local = null) {
  const columns = [
    ['cohort', (r) => r.name.toLocaleLowerCase(), (r) => h('a', { href: `#/cohorts/${r.cohort_id}/outcomes` }, r.name)],
    ['status', (r) => r.status, (r) => statusBadge(r.status)],
    ['start', (r) => r.start_date, (r) => fmt.shortDate(`${r.start_date}T12:00:00Z`)],
    ...FIGURES.filter(([key]) => key !== 'cohorts'),
  ];
  return sortable('cohorts', t('programme.by_cohort'), columns, rows, (r) => ({ dataset: { cohortId: r.cohort_id } }), server, local);
}
