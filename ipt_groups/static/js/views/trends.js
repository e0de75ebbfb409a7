// Per-session trends from GET /api/cohorts/{id}/trends: the helpers both the
// runner's sparklines (runner-trend.js) and the outcomes page use, and the
// outcomes page's two cards: the cohort's mean by session, and each member's
// PHQ-9 and mood over the sessions. Every chart has its numbers in a table too.
//
// x on every chart is the API's position: 0 = before session 1 (the pre-group
// meeting), n = session n, k + 0.5 = a meeting or other score after session k,
// N + 1 = the follow-up meeting of a programme of N sessions (months later).
import * as api from '../core/api.js';
import { PHQ9_BANDS, firstLast, lineChart } from '../core/chart.js';
import * as fmt from '../core/fmt.js';
import { t, use } from '../core/i18n.js';
import { h, notice, staleNote, stylesheet } from '../core/ui.js';

// The instruments drawn, with their scales. Others stay in the API only.
export const CHARTED = {
  phq9: { max: 27, bands: PHQ9_BANDS, ticks: [0, 5, 10, 15, 20, 27] },
  mood: { max: 10, bands: [], ticks: [0, 5, 10] },
};

export function loadTrends(cohortId) {
  return api.get(`/api/cohorts/${encodeURIComponent(cohortId)}/trends`, { offline: true });
}

export async function prepare() {
  await use('trends');
  stylesheet('chart');
}

const num = (v) => fmt.number(v, { maximumFractionDigits: 1 });

// trends (when given) tells the follow-up's place, N + 1, from a session.
export function placeLabel(x, short = false, trends = null) {
  if (x === 0) return t(short ? 'trends.pos.pre_short' : 'trends.pos.pre');
  if (trends && x === trends.group_sessions + 1) {
    return t(short ? 'trends.pos.follow_up_short' : 'trends.pos.follow_up');
  }
  if (Number.isInteger(x)) return short ? String(x) : t('trends.pos.session', { n: x });
  return t('trends.pos.after', { n: Math.floor(x) });
}

export function instrumentName(key) {
  return t(`trends.instrument.${key}`);
}

export function pointsOf(member, instrument, trends = null) {
  return member.points.filter((p) => p.instrument === instrument)
    .map((p) => ({ x: p.position, y: p.total, title: `${placeLabel(p.position, false, trends)}: ${num(p.total)}` }));
}

// Where the cohort has any score of the instrument: a member with none there
// has a gap in their line (see chart.js runs()).
export function expectedOf(trends, instrument) {
  return trends.means.filter((m) => m.instrument === instrument).map((m) => m.position);
}

export function meanPoints(trends, instrument) {
  return trends.means.filter((m) => m.instrument === instrument).map((m) => ({
    x: m.position, y: m.mean, n: m.n, note: t('trends.n', { n: m.n }),
    title: `${placeLabel(m.position, false, trends)}: ${num(m.mean)} (${t('trends.n', { n: m.n })})`,
  }));
}

export function xDomain(trends) {
  const last = Math.max(trends.group_sessions, ...trends.means.map((m) => m.position));
  return [0, Math.max(last, 1)];
}

// "PHQ-9: 18 (before session 1) → 11 (session 4), 4 scores": the text
// alternative of a chart, first to last.
// kind: 'summary' (one member, unnamed: the runner), 'member_summary' (named)
// or 'mean_summary' (the cohort's mean).
export function summaryText(instrument, points, { name = '', kind = 'summary', trends = null } = {}) {
  const fl = firstLast(points);
  if (!fl) return t('trends.no_scores');
  const vars = {
    instrument: instrumentName(instrument), name, first: num(fl.first.y),
    from: placeLabel(fl.first.x, false, trends), last: num(fl.last.y), to: placeLabel(fl.last.x, false, trends),
  };
  // One value has no "from → to"; two or more always say how many.
  const keys = {
    summary: ['trends.summary_one', 'trends.summary'],
    member_summary: ['trends.member_summary_one', 'trends.member_summary'],
    mean_summary: ['trends.mean_summary_one', 'trends.mean_summary'],
  }[kind];
  return fl.count === 1 ? t(keys[0], vars) : t(keys[1], { ...vars, count: fl.count });
}

function bigChart(trends, instrument, series, title, desc) {
  const scaleOf = CHARTED[instrument];
  const [x0, x1] = xDomain(trends);
  const ticks = [];
  for (let x = x0; x <= x1; x += 1) ticks.push({ x, label: placeLabel(x, true, trends) });
  return lineChart({
    width: 360, height: 180, pad: { l: 32, r: 10, t: 10, b: 26 }, x: [x0, x1], y: [0, scaleOf.max],
    xTicks: ticks, yTicks: scaleOf.ticks, bands: scaleOf.bands, series, title, desc, axes: true,
    className: `trend-${instrument}`,
  });
}

// A table alternative: one row per place, one column pair per instrument.
function table(trends, caption, positions, cell, instruments) {
  return h('details', {},
    h('summary', {}, t('trends.show_table')),
    h('div', { class: 'table-wrap' }, h('table', { class: 'trend-table' },
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('trends.col.place')),
        instruments.map((i) => h('th', { scope: 'col' }, instrumentName(i))))),
      h('tbody', {}, positions.map((x) => h('tr', { dataset: { position: x } },
        h('th', { scope: 'row' }, placeLabel(x, false, trends)),
        instruments.map((i) => h('td', {}, cell(i, x)))))))));
}

const sortedPositions = (list) => [...new Set(list)].sort((a, b) => a - b);

function meanCard(trends) {
  const instruments = Object.keys(CHARTED).filter((i) => trends.instruments.includes(i));
  const charts = instruments.map((i) => {
    const points = meanPoints(trends, i);
    const title = t('trends.mean_chart', { instrument: instrumentName(i) });
    return h('figure', { class: 'trend-figure', dataset: { trendMean: i } },
      bigChart(trends, i, [{ points, className: 'trend-mean', shape: 'square', r: 4 }], title, summaryText(i, points, { kind: 'mean_summary', trends })),
      h('figcaption', {}, title));
  });
  const positions = sortedPositions(trends.means.filter((m) => instruments.includes(m.instrument)).map((m) => m.position));
  const cell = (i, x) => {
    const m = trends.means.find((q) => q.instrument === i && q.position === x);
    return m ? `${num(m.mean)} (${t('trends.n', { n: m.n })})` : '—';
  };
  return h('section', { class: 'card', 'aria-labelledby': 'oc-trend-mean' },
    h('h2', { id: 'oc-trend-mean' }, t('trends.mean_title')),
    h('p', { class: 'hint' }, t('trends.mean_hint')),
    instruments.length
      ? [h('div', { class: 'trend-row' }, charts), table(trends, t('trends.mean_title'), positions, cell, instruments)]
      : h('p', { class: 'muted' }, t('trends.no_scores')));
}

function memberFigure(trends, member) {
  const instruments = Object.keys(CHARTED).filter((i) => member.points.some((p) => p.instrument === i));
  const heading = h('h3', {}, member.display_name,
    member.status === 'withdrawn' ? [' ', h('span', { class: 'badge warn' }, t('trends.withdrawn'))] : null);
  if (!instruments.length) {
    return h('article', { class: 'trend-member', dataset: { member: member.enrolment_id } }, heading,
      h('p', { class: 'muted' }, t('trends.no_scores')));
  }
  const charts = instruments.map((i) => {
    const points = pointsOf(member, i, trends);
    const title = t('trends.member_chart', { instrument: instrumentName(i), name: member.display_name });
    return h('figure', { class: 'trend-figure', dataset: { trendInstrument: i } },
      bigChart(trends, i, [{ points, expected: expectedOf(trends, i), className: 'trend-member-line' }],
        title, summaryText(i, points, { name: member.display_name, kind: 'member_summary', trends })),
      h('figcaption', {}, instrumentName(i)));
  });
  const positions = sortedPositions(member.points.filter((p) => instruments.includes(p.instrument)).map((p) => p.position));
  const cell = (i, x) => {
    const p = member.points.find((q) => q.instrument === i && q.position === x);
    return p ? num(p.total) : '—';
  };
  return h('article', { class: 'trend-member', dataset: { member: member.enrolment_id } }, heading,
    h('div', { class: 'trend-row' }, charts),
    table(trends, t('trends.member_table', { name: member.display_name }), positions, cell, instruments));
}

// The outcomes page's cards. Offline with nothing cached, or refused: a note
// instead of the charts; the rest of the page is unaffected.
export async function outcomesTrends(cohortId) {
  await prepare();
  let trends;
  try {
    trends = await loadTrends(cohortId);
  } catch {
    return h('section', { class: 'card' }, notice(t('trends.unavailable'), 'warn'));
  }
  return [
    meanCard(trends),
    h('section', { class: 'card', 'aria-labelledby': 'oc-trend-members' },
      h('h2', { id: 'oc-trend-members' }, t('trends.members_title')),
      staleNote(trends),
      h('p', { class: 'hint' }, t('trends.gap_hint')),
      trends.members.length
        ? h('div', { class: 'trend-members' }, trends.members.map((m) => memberFigure(trends, m)))
        : h('p', { class: 'muted' }, t('trends.no_members'))),
  ];
}
