// Dates and times with Intl, in the person's language and time zone (never the
// device's guess: a facilitator may be travelling; the group meets where it meets).
import { language } from './i18n.js';

let zone = Intl.DateTimeFormat().resolvedOptions().timeZone;

export function setZone(z) {
  if (z) zone = z;
}

function format(value, options, tz) {
  if (!value) return '';
  const d = value instanceof Date ? value : new Date(value);
  return new Intl.DateTimeFormat(language(), { timeZone: tz || zone, ...options }).format(d);
}

export const dateTime = (v, tz) => format(v, { weekday: 'long', day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit' }, tz);
export const date = (v, tz) => format(v, { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' }, tz);
export const shortDate = (v, tz) => format(v, { day: 'numeric', month: 'short' }, tz);
export const time = (v, tz) => format(v, { hour: '2-digit', minute: '2-digit' }, tz);
export const weekday = (v, tz) => format(v, { weekday: 'long' }, tz);

export function number(n, options) {
  return new Intl.NumberFormat(language(), options).format(n);
}

export function relative(value) {
  const diff = (new Date(value) - Date.now()) / 1000;
  const rtf = new Intl.RelativeTimeFormat(language(), { numeric: 'auto' });
  const units = [['day', 86400], ['hour', 3600], ['minute', 60]];
  for (const [unit, secs] of units) {
    if (Math.abs(diff) >= secs || unit === 'minute') return rtf.format(Math.round(diff / secs), unit);
  }
  return '';
}
