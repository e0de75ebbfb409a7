// Strings from catalogs: /static/i18n/<area>.json holds {"en": {...}, "es": {...}}.
// Every visible word goes through t(); English and Spanish are complete (a test
// compares the catalogs key by key).
export const LANGUAGES = ['en', 'es'];
const loaded = new Map();
let lang = 'en';
let strings = {};
let fallback = {};

export function language() {
  return lang;
}

export function pickLanguage(preferred) {
  const wanted = [preferred, ...(navigator.languages || [navigator.language])]
    .filter(Boolean).map((l) => l.slice(0, 2).toLowerCase());
  return wanted.find((l) => LANGUAGES.includes(l)) || 'en';
}

async function fetchArea(area) {
  if (!loaded.has(area)) {
    // Relative to this module: the release's versioned, long-cached path.
    const url = new URL(`../../i18n/${area}.json`, import.meta.url);
    loaded.set(area, fetch(url).then((r) => {
      if (!r.ok) throw new Error(`catalog ${area}: ${r.status}`);
      return r.json();
    }));
  }
  return loaded.get(area);
}

// Load areas (idempotent) and merge them into the active language.
export async function use(...areas) {
  const catalogs = await Promise.all(areas.map(fetchArea));
  for (const cat of catalogs) {
    Object.assign(strings, cat[lang] || {});
    Object.assign(fallback, cat.en || {});
  }
}

export async function setLanguage(next) {
  lang = LANGUAGES.includes(next) ? next : 'en';
  document.documentElement.lang = lang;
  strings = {};
  fallback = {};
  await use(...loaded.keys());
}

// t('home.next', {time: '17:00'}): {name} placeholders are replaced; a missing
// key shows itself, so a gap is visible instead of blank.
export function t(key, vars) {
  let s = strings[key] ?? fallback[key] ?? key;
  if (vars) {
    s = s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  }
  return s;
}

// Whether a key has words (in this language or the English fallback).
export function has(key) {
  return (strings[key] ?? fallback[key]) !== undefined;
}

// Plural by Intl rules: keys "x.one" and "x.other".
export function tn(key, count, vars) {
  const form = new Intl.PluralRules(lang).select(count);
  const k = strings[`${key}.${form}`] || fallback[`${key}.${form}`] ? `${key}.${form}` : `${key}.other`;
  return t(k, { count, ...vars });
}
