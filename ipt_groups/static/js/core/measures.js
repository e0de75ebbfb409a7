// Scoring as the server does it (sum of answers, bands by range, risk items by
// threshold), so the band and a risk answer show at once, offline too.

// True as soon as any answered risk item is above its threshold (PHQ-9 item 9 > 0).
export function riskAnswered(instrument, answers) {
  return Object.entries(instrument.risk_items || {})
    .some(([key, above]) => answers[key] !== undefined && answers[key] > above);
}

// Total, band label and risk once every item is answered; null before.
export function score(instrument, answers) {
  const values = instrument.items.map((i) => answers[i.key]);
  if (values.some((v) => v === undefined)) return null;
  const total = values.reduce((a, b) => a + b, 0);
  const band = (instrument.bands || []).find((b) => total >= b.low && total <= b.high);
  return { total, band: band ? band.label : null, risk: riskAnswered(instrument, answers) };
}
