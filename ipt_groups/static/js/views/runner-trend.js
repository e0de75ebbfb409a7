// The runner's sparklines: beside each member's name, their PHQ-9 and mood
// over the sessions so far, from the cohort's trends (one request for the whole
// group, kept for offline use). runner.js only asks for a slot per member and
// says when it records a score; the slots fill in when the trends arrive.
// Offline with nothing cached (or any other failure) they stay empty: the
// runner must work without them.
import { sparkline } from '../core/chart.js';
import { t } from '../core/i18n.js';
import { h } from '../core/ui.js';
import { CHARTED, expectedOf, loadTrends, pointsOf, prepare, summaryText, xDomain } from './trends.js';

function sparks(trends, member, now) {
  return Object.keys(CHARTED).map((instrument) => {
    const points = pointsOf(member, instrument, trends);
    if (!points.length) return null;
    return h('span', { class: 'trend-spark-item', dataset: { trend: instrument } },
      h('span', { class: 'trend-spark-name', 'aria-hidden': 'true' }, t(`trends.short.${instrument}`)),
      sparkline({
        points, expected: expectedOf(trends, instrument), x: xDomain(trends), y: [0, CHARTED[instrument].max],
        bands: CHARTED[instrument].bands.filter((b) => b.main), now, label: summaryText(instrument, points, { trends }),
      }),
      h('span', { class: 'trend-spark-last', 'aria-hidden': 'true' }, String(points[points.length - 1].y)));
  }).filter(Boolean);
}

// runnerTrends(cohortId, sessionNumber) -> {slot(enrolmentId), recorded(...)}:
// slot() gives an element to put beside the member's name, empty until (and
// unless) the trends load.
export function runnerTrends(cohortId, sessionNumber = null) {
  const slots = new Map();
  let trends = null;
  const draw = (member) => {
    const slot = slots.get(member.enrolment_id);
    if (!slot) return;
    // slot() may run before prepare() loaded the strings: title it again here.
    slot.title = t('trends.spark_hint');
    slot.replaceChildren(...sparks(trends, member, sessionNumber));
  };
  const ready = (async () => {
    await prepare();
    trends = await loadTrends(cohortId);
    trends.members.forEach(draw);
  })().catch(() => {});
  return {
    ready,
    slot(enrolmentId) {
      const el = h('span', { class: 'trend-sparks', title: t('trends.spark_hint') });
      slots.set(enrolmentId, el);
      return el;
    },
    // A score just entered here (sent or queued): drawn at this session at once,
    // replacing any earlier one there, as the server will.
    recorded(enrolmentId, instrument, total) {
      const member = trends?.members.find((m) => m.enrolment_id === enrolmentId);
      if (!member || sessionNumber == null) return;
      member.points = member.points.filter((p) => !(p.instrument === instrument && p.position === sessionNumber));
      member.points.push({ instrument, position: sessionNumber, total });
      member.points.sort((a, b) => a.position - b.position);
      draw(member);
    },
  };
}
