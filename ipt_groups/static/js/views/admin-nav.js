// The admin area's sub-navigation (users, programmes, clinic settings), shared
// by the three admin views, and a helper for the server's nested field errors.
import { t } from '../core/i18n.js';
import { h, stylesheet } from '../core/ui.js';

stylesheet('admin');

const LINKS = [
  ['/admin/users', 'admin.nav.users'],
  ['/admin/programmes', 'admin.nav.programmes'],
  ['/admin/settings', 'admin.nav.settings'],
];

export function adminNav(path) {
  return h('nav', { class: 'subnav', 'aria-label': t('admin.nav.label') },
    h('ul', {}, LINKS.map(([href, key]) => h('li', {},
      h('a', { href: `#${href}`, 'aria-current': path === href ? 'page' : null }, t(key))))));
}

// {"crisis_text": {"en": {"value": ["..."]}}} -> {"crisis_text.en": ["..."]}:
// marshmallow nests errors of nested schemas and dicts; fields are named flat.
export function flatFields(fields, prefix = '') {
  const out = {};
  for (const [name, value] of Object.entries(fields || {})) {
    const key = prefix && (name === 'value' || name === 'key') ? prefix : (prefix ? `${prefix}.${name}` : name);
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      Object.assign(out, flatFields(value, key));
    } else {
      const list = [].concat(value);
      out[key || '_schema'] = [...(out[key || '_schema'] || []), ...list];
    }
  }
  return out;
}

// Messages of fields no control on the form shows, for a notice under the form.
export function unmatched(form, fields) {
  return Object.entries(fields || {})
    .filter(([name]) => !form.querySelector(`.field[data-field="${CSS.escape(name)}"]`))
    .flatMap(([name, messages]) => [].concat(messages).map((m) => (name === '_schema' ? m : `${name}: ${m}`)));
}
