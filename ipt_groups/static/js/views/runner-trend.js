// The runner's sparklines: beside each member's name, their PHQ-9 and mood
// over the sessions so far, from the cohort's trends (one request for the whole
// group, kept for offline use). runner.js only asks for a slot per member;
// the slots fill in when the trends arrive. Offline with nothing cached (or any
// other failure) they stay empty: the runner must work without them.
import { sparkline } from '../core/chart.js';
import { t } from '../core/i18n.js';
import { h } from '../core/ui.js';
import { CHARTED, expectedOf, loadTrends, pointsOf, prepare, summaryText, xDomain } from './trends.js';

function sparks(trends, member, now) {
  return Object.keys(CHARTED).map((instrument) => {
    const points = pointsOf(member, instrument);
    if (!points.length) return null;
    const label = summaryText(instrument, points);
    return h('span', { class: 'trend-spark-item', dataset: { trend: instrument } },
      h('span', { class: 'trend-spark-name', 'aria-hidden': 'true' }, t(`trends.short.${instrument}`)),
      sparkline({
        points, expected: expectedOf(trends, instrument), x: xDomain(trends), y: [0, CHARTED[instrument].max],
        bands: CHARTED[instrument].bands.filter((b) => b.main), now, label,
      }),
      h('span', { class: 'trend-spark-last', 'aria-hidden': 'true' }, String(points[points.length - 1].y)));
  }).filter(Boolean);
}

// runnerTrends(cohortId, sessionNumber).slot(enrolmentId) -> an element to put
// beside the member's name; empty until (and unless) the trends load.
export function runnerTrends(cohortId, sessionNumber = null) {
  const slots = new Map();
  const ready = (async () => {
    await prepare();
    const trends = await loadTrends(cohortId);
    const byId = new Map(trends.members.map((m) => [m.enrolment_id, m]));
    for (const [id, slot] of slots) {
      const member = byId.get(id);
      if (member) slot.replaceChildren(...sparks(trends, member, sessionNumber));
    }
  })().catch(() => {});
  return {
    ready,
    slot(enrolmentId) {
      const el = h('span', { class: 'trend-sparks', title: t('trends.spark_hint') });
      slots.set(enrolmentId, el);
      return el;
    },
  };
}
