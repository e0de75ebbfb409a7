// Small line charts as inline SVG: pure functions from numbers to SVG elements,
// no chart library (the app must work on a clinic network with no internet).
//
// Conventions every chart here follows:
// - Lines, points and labels are drawn in currentColor (set by CSS on the
//   chart), so forced-colors / high-contrast modes recolour them with the page.
// - Nothing moves: no transitions or animation, whatever the motion setting.
// - A gap is a gap: a line is broken where an expected place has no value (a
//   missed session), never drawn down to zero. See runs().
// - Every chart is role="img" with a text alternative: an aria-label for the
//   sparkline, a <title> and <desc> for the larger charts (callers add a table).
// The words (titles, summaries, tick labels) come from the caller, already
// translated, so this module knows no language.
import { s, uid } from './ui.js';

// PHQ-9 cut-offs: 10 is the usual threshold for moderate depression (drawn
// plainly), 5, 15 and 20 the other band edges (drawn faintly).
export const PHQ9_BANDS = Object.freeze([
  { y: 5, main: false }, { y: 10, main: true }, { y: 15, main: false }, { y: 20, main: false },
]);

// A linear map from [d0, d1] to [r0, r1]; a single-value domain maps to r0.
export function scale(d0, d1, r0, r1) {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

// Split points (sorted by x) into runs to draw as separate lines: a new run
// starts where an expected x lies strictly between two neighbours (the member
// missed a place where others have a score), so a gap shows as a gap.
export function runs(points, expected = []) {
  const out = [];
  let run = [];
  points.forEach((p, i) => {
    const prev = points[i - 1];
    if (prev && expected.some((x) => x > prev.x && x < p.x)) {
      out.push(run);
      run = [];
    }
    run.push(p);
  });
  if (run.length) out.push(run);
  return out;
}

export function pathData(run, X, Y) {
  return run.map((p, i) => `${i ? 'L' : 'M'}${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ');
}

// The first and last points, for a "first → last" summary.
export function firstLast(points) {
  if (!points.length) return null;
  return { first: points[0], last: points[points.length - 1], count: points.length };
}

function marker(p, X, Y, r, shape) {
  const title = p.title ? s('title', {}, p.title) : null;
  if (shape === 'square') {
    return s('rect', { class: 'chart-point', x: (X(p.x) - r).toFixed(1), y: (Y(p.y) - r).toFixed(1),
      width: 2 * r, height: 2 * r, 'data-x': p.x, 'data-y': p.y }, title);
  }
  return s('circle', { class: 'chart-point', cx: X(p.x).toFixed(1), cy: Y(p.y).toFixed(1), r,
    'data-x': p.x, 'data-y': p.y }, title);
}

/**
 * A line chart.
 *   width, height, pad {l, r, t, b}: pixels
 *   x: [min, max], y: [min, max]: the domains
 *   xTicks: [{x, label}], yTicks: [numbers]: labelled ticks (none on a sparkline)
 *   bands: [{y, main}]: horizontal reference lines (PHQ9_BANDS)
 *   now: an x to mark with a vertical line (the session being run), or null
 *   series: [{points: [{x, y, title, note}], expected: [x], className, shape, r}]
 *           note: a short text under the point (the n of a mean)
 *   label: an aria-label (sparklines); or title + desc (larger charts)
 *   axes: draw the x and y axis lines
 */
export function lineChart({
  width, height, pad = { l: 0, r: 0, t: 0, b: 0 }, x, y, xTicks = [], yTicks = [], bands = [],
  now = null, series = [], label = null, title = null, desc = null, className = '', axes = false,
}) {
  const X = scale(x[0], x[1], pad.l, width - pad.r);
  const Y = scale(y[0], y[1], height - pad.b, pad.t);
  const id = uid('trend');
  const named = title || desc;
  const inside = (v) => v >= y[0] && v <= y[1];
  return s('svg', {
    class: `trend-chart ${className}`.trim(), role: 'img', viewBox: `0 0 ${width} ${height}`, width, height,
    focusable: 'false', 'aria-label': named ? null : label,
    'aria-labelledby': named ? [title && `${id}-t`, desc && `${id}-d`].filter(Boolean).join(' ') : null,
  },
  title ? s('title', { id: `${id}-t` }, title) : null,
  desc ? s('desc', { id: `${id}-d` }, desc) : null,
  bands.filter((b) => inside(b.y)).map((b) => s('line', {
    class: b.main ? 'chart-band chart-band-main' : 'chart-band', 'data-band': b.y,
    x1: pad.l, x2: width - pad.r, y1: Y(b.y).toFixed(1), y2: Y(b.y).toFixed(1),
  })),
  yTicks.map((v) => s('text', { class: 'chart-tick', x: pad.l - 6, y: (Y(v) + 4).toFixed(1), 'text-anchor': 'end' }, String(v))),
  xTicks.map((tk) => s('text', { class: 'chart-tick', x: X(tk.x).toFixed(1), y: height - pad.b + 16, 'text-anchor': 'middle' }, tk.label)),
  axes ? [
    s('line', { class: 'chart-axis', x1: pad.l, x2: pad.l, y1: pad.t, y2: height - pad.b }),
    s('line', { class: 'chart-axis', x1: pad.l, x2: width - pad.r, y1: height - pad.b, y2: height - pad.b }),
  ] : null,
  now != null ? s('line', { class: 'chart-now', x1: X(now).toFixed(1), x2: X(now).toFixed(1), y1: pad.t, y2: height - pad.b }) : null,
  series.map((se) => s('g', { class: `chart-series ${se.className || ''}`.trim() },
    runs(se.points, se.expected).filter((run) => run.length > 1)
      .map((run) => s('path', { class: 'chart-line', d: pathData(run, X, Y), fill: 'none' })),
    se.points.map((p) => marker(p, X, Y, se.r || 3, se.shape)),
    se.points.filter((p) => p.note).map((p) => s('text', {
      class: 'chart-note', x: X(p.x).toFixed(1), y: (Y(p.y) + (Y(p.y) > height - pad.b - 18 ? -9 : 16)).toFixed(1),
      'text-anchor': 'middle',
    }, p.note)))));
}

// A sparkline: a word-sized chart with no axes or ticks, for beside a name.
export function sparkline({ points, expected = [], x, y, bands = [], now = null, label, width = 96, height = 28 }) {
  return lineChart({
    width, height, pad: { l: 3, r: 3, t: 3, b: 3 }, x, y, bands, now, label,
    className: 'trend-spark', series: [{ points, expected, r: 2 }],
  });
}
