// The admin area's sub-navigation (users, programmes, clinic settings), shared
// by the three admin views.
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
