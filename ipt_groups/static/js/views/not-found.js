import { t } from '../core/i18n.js';
import { h } from '../core/ui.js';

export default async function notFound() {
  return h('section', { class: 'card' }, h('h1', {}, t('common.not_found')),
    h('p', {}, t('common.not_found_text')), h('a', { href: '#/' }, t('common.home')));
}
