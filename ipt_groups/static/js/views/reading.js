// One reading. The HTML was sanitised by the server (nh3, an allow-list) and
// the page's CSP forbids inline script, so it is inserted as markup.
import * as api from '../core/api.js';
import { t, use } from '../core/i18n.js';
import { h, staleNote } from '../core/ui.js';

export default async function reading({ params }) {
  await use('participant');
  const item = await api.get(`/api/me/readings/${encodeURIComponent(params.key)}`, { offline: true });
  const body = h('div', { class: 'reading' });
  body.innerHTML = item.body_html;  // sanitised server-side; see above
  return h('article', { class: 'card', lang: item.language },
    h('p', {}, h('a', { href: '#/readings' }, t('common.back'))),
    h('h1', {}, item.title),
    staleNote(item),
    body);
}
