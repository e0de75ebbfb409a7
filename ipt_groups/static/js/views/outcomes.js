// A cohort's outcomes: PHQ-9 and mood over the programme (the cohort mean by
// session and each member, from views/trends.js), attendance per held session,
// the retention funnel and the summary.
// Charts are inline SVG with a title, a description and the same numbers in a table.
import * as api from '../core/api.js';
import * as fmt from '../core/fmt.js';
import { t, tn, use } from '../core/i18n.js';
import { h, s, staleNote, stylesheet, uid } from '../core/ui.js';
import { statusBadge } from './cohorts.js';
import { sustainedSection } from './meetings.js';
import { outcomesTrends } from './trends.js';

const num = (n, digits = 0) => fmt.number(n, { minimumFractionDigits: digits, maximumFractionDigits: digits });
const signed = (n, digits = 0) => (n > 0 ? '+' : n < 0 ? '−' : '') + num(Math.abs(n), digits);
const pct = (share) => (share == null ? '—' : fmt.number(share, { style: 'percent', maximumFractionDigits: 0 }));

// The chart's pixel width: text stays readable on a phone and a tablet.
function chartWidth() {
  const main = document.getElementById('main');
  const w = (main?.clientWidth || window.innerWidth) - 48;
  return Math.max(300, Math.min(720, w));
}

function svgChart(titleText, descText, width, height, ...children) {
  const id = uid('chart');
  return s('svg', {
    class: 'chart staff-chart', role: 'img', viewBox: `0 0 ${width} ${height}`, width, height,
    'aria-labelledby': `${id}-title ${id}-desc`, preserveAspectRatio: 'xMinYMin meet',
  }, s('title', { id: `${id}-title` }, titleText), s('desc', { id: `${id}-desc` }, descText), ...children);
}

function attendanceChart(sessions, members) {
  const W = chartWidth();
  const H = 260;
  const pad = { l: 44, r: 16, t: 24, b: 48 };
  const top = Math.max(1, members, ...sessions.map((x) => x.present + x.late + x.excused + x.absent + x.not_recorded));
  const slot = (W - pad.l - pad.r) / Math.max(sessions.length, 1);
  const bw = Math.min(48, slot * 0.6);
  const Y = (y) => pad.t + (1 - y / top) * (H - pad.t - pad.b);
  const label = (x) => (x.number != null ? t('staff.outcomes.s', { number: x.number }) : t('staff.outcomes.catch_up_short'));
  const total = (x) => x.present + x.late + x.excused + x.absent + x.not_recorded;
  const step = top <= 10 ? 1 : top <= 20 ? 2 : 5;
  const ticks = [];
  for (let v = 0; v <= top; v += step) ticks.push(v);
  const mean = sessions.length ? sessions.reduce((a, x) => a + x.attended, 0) / sessions.length : 0;
  const svg = svgChart(t('staff.outcomes.att_title'),
    t('staff.outcomes.att_desc', { sessions: sessions.length, mean: num(mean, 1), members }), W, H,
    ticks.map((v) => s('g', {},
      s('line', { class: 'grid-line', x1: pad.l, x2: W - pad.r, y1: Y(v), y2: Y(v) }),
      s('text', { x: pad.l - 6, y: Y(v) + 4, 'text-anchor': 'end' }, num(v)))),
    s('line', { class: 'axis', x1: pad.l, x2: pad.l, y1: pad.t, y2: H - pad.b }),
    s('line', { class: 'axis', x1: pad.l, x2: W - pad.r, y1: H - pad.b, y2: H - pad.b }),
    sessions.map((x, i) => {
      const cx = pad.l + slot * (i + 0.5);
      return s('g', {},
        s('rect', { x: cx - bw / 2, y: Y(x.attended), width: bw, height: Math.max(0, Y(0) - Y(x.attended)), fill: '#1f5f5b' },
          s('title', {}, `${label(x)}: ${t('staff.outcomes.attended_of', { attended: x.attended, total: total(x) })}`)),
        s('text', { x: cx, y: Y(x.attended) - 6, 'text-anchor': 'middle' }, `${num(x.attended)}/${num(total(x))}`),
        s('text', { x: cx, y: H - pad.b + 18, 'text-anchor': 'middle' }, label(x)));
    }),
    s('text', { x: (pad.l + W - pad.r) / 2, y: H - 6, 'text-anchor': 'middle', class: 'staff-axis-label' }, t('staff.outcomes.axis_session')),
    s('text', { x: 12, y: (pad.t + H - pad.b) / 2, 'text-anchor': 'middle', transform: `rotate(-90 12 ${(pad.t + H - pad.b) / 2})`, class: 'staff-axis-label' }, t('staff.outcomes.axis_attended')));
  const table = h('details', {},
    h('summary', {}, t('staff.outcomes.show_table')),
    h('div', { class: 'table-wrap' }, h('table', {},
      h('caption', {}, t('staff.outcomes.att_title')),
      h('thead', {}, h('tr', {}, ['session', 'date', 'present', 'late', 'excused', 'absent', 'not_recorded', 'attended']
        .map((k) => h('th', { scope: 'col' }, t(`staff.outcomes.col.${k}`))))),
      h('tbody', {}, sessions.map((x) => h('tr', {},
        h('th', { scope: 'row' }, label(x)), h('td', {}, fmt.shortDate(x.starts_at)),
        ['present', 'late', 'excused', 'absent', 'not_recorded', 'attended'].map((k) => h('td', {}, num(x[k])))))))));
  return [h('figure', { class: 'staff-figure' }, svg), table];
}

function funnel(f) {
  const rows = [
    ['enrolled', f.enrolled, t('staff.outcomes.funnel.enrolled')],
    ['started', f.started, t('staff.outcomes.funnel.started')],
    ['reached_midpoint', f.reached_midpoint, t('staff.outcomes.funnel.midpoint', { session: f.midpoint_session })],
    ['completed', f.completed, t('staff.outcomes.funnel.completed', { session: f.final_session })],
  ];
  const base = Math.max(f.enrolled, 1);
  return h('table', { class: 'staff-funnel' },
    h('caption', {}, t('staff.outcomes.funnel_title')),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('staff.outcomes.stage')), h('th', { scope: 'col' }, t('staff.outcomes.people')), h('th', { scope: 'col' }, t('staff.outcomes.share')))),
    h('tbody', {}, rows.map(([key, n, label]) => h('tr', { dataset: { stage: key } },
      h('th', { scope: 'row' }, label),
      h('td', {}, num(n)),
      h('td', {}, h('span', { class: 'staff-bar', 'aria-hidden': 'true' }, h('span', { style: `width:${Math.round((n / base) * 100)}%` })), ' ', pct(f.enrolled ? n / f.enrolled : null))))));
}

function summary(sum) {
  const items = [
    [t('staff.outcomes.mean_change'), sum.mean_change == null ? t('staff.outcomes.no_change_yet')
      : t('staff.outcomes.mean_change_value', { change: signed(sum.mean_change, 1), n: sum.with_change })],
    [t('staff.outcomes.below_10'), pct(sum.share_latest_below_10)],
    [t('staff.outcomes.below_5'), pct(sum.share_latest_below_5)],
    [t('staff.outcomes.attendance_rate'), sum.attendance_rate == null ? '—'
      : t('staff.outcomes.rate_value', { rate: pct(sum.attendance_rate), attended: sum.attended_marks, recorded: sum.recorded_marks })],
    [t('staff.outcomes.dropouts'), num(sum.dropouts)],
    [t('staff.outcomes.members'), num(sum.members)],
  ];
  return h('dl', { class: 'staff-facts' }, items.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function membersTable(members) {
  return h('div', { class: 'table-wrap' }, h('table', { 'aria-labelledby': 'oc-members' },
    h('thead', {}, h('tr', {}, ['member', 'status', 'attended', 'first', 'latest', 'change', 'dropout']
      .map((k) => h('th', { scope: 'col' }, t(`staff.outcomes.col.${k}`))))),
    h('tbody', {}, members.map((m) => h('tr', {},
      h('th', { scope: 'row' }, m.display_name),
      h('td', {}, statusBadge(m.status)),
      h('td', {}, num(m.sessions_attended)),
      h('td', {}, m.first_phq9 ? num(m.first_phq9.total) : '—'),
      h('td', {}, m.latest_phq9 ? num(m.latest_phq9.total) : '—'),
      h('td', {}, m.change == null ? '—' : signed(m.change)),
      h('td', {}, m.dropout ? h('span', { class: 'badge warn' }, t('common.yes')) : t('common.no')))))));
}

export default async function outcomesView({ params }) {
  await use('staff');
  stylesheet('staff');
  const id = encodeURIComponent(params.id);
  const [cohort, outcomes] = await Promise.all([
    api.get(`/api/cohorts/${id}`, { offline: true }),
    api.get(`/api/cohorts/${id}/outcomes`, { offline: true }),
  ]);
  const trends = await outcomesTrends(params.id);
  const csv = `/api/cohorts/${id}/outcomes.csv`;
  return h('section', { class: 'stack staff-page staff-outcomes' },
    h('p', {}, h('a', { href: `#/cohorts/${id}` }, t('staff.outcomes.back', { name: cohort.name }))),
    h('h1', {}, t('staff.outcomes.title', { name: cohort.name })),
    staleNote(outcomes),
    h('p', { class: 'muted' }, tn('staff.outcomes.held', outcomes.sessions.length, { of: cohort.group_sessions })),
    h('div', { class: 'grid' },
      h('section', { class: 'card', 'aria-labelledby': 'oc-summary' }, h('h2', { id: 'oc-summary' }, t('staff.outcomes.summary')), summary(outcomes.summary)),
      h('section', { class: 'card', 'aria-labelledby': 'oc-funnel' }, h('h2', { id: 'oc-funnel' }, t('staff.outcomes.retention')), funnel(outcomes.funnel))),
    trends,
    h('section', { class: 'card', 'aria-labelledby': 'oc-att' },
      h('h2', { id: 'oc-att' }, t('staff.outcomes.att_title')),
      outcomes.sessions.length ? attendanceChart(outcomes.sessions, outcomes.funnel.enrolled) : h('p', { class: 'muted' }, t('staff.outcomes.no_sessions'))),
    await sustainedSection(outcomes),
    h('section', { class: 'card', 'aria-labelledby': 'oc-members' },
      h('h2', { id: 'oc-members' }, t('staff.outcomes.members_title')),
      outcomes.members.length ? membersTable(outcomes.members) : h('p', { class: 'muted' }, t('staff.members.empty'))),
    h('section', { class: 'card', 'aria-labelledby': 'oc-export' },
      h('h2', { id: 'oc-export' }, t('staff.outcomes.export')),
      h('p', { class: 'hint' }, t('staff.outcomes.export_hint')),
      h('p', { class: 'row' },
        h('a', { class: 'btn secondary', href: csv, download: `cohort-${params.id}-outcomes.csv` }, t('staff.outcomes.csv')),
        h('a', { class: 'btn secondary', href: `${csv}?pseudonymous=true`, download: `cohort-${params.id}-outcomes-pseudonymous.csv` }, t('staff.outcomes.csv_pseudo')))));
}
