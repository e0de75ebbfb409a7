// The readings released to my group. Each one is saved on the phone (without
// counting as opened) so it can be read with no signal.
import * as api from '../core/api.js';
import * as fmt from '../core/fmt.js';
import { t, use } from '../core/i18n.js';
import { h, notice, staleNote } from '../core/ui.js';

async function keepForOffline(items) {
  for (const item of items) {
    // The same path the reading screen uses when offline; ?opened=false keeps
    // the "new" marker and the facilitator's count honest.
    try {
      const full = await api.get(`/api/me/readings/${encodeURIComponent(item.key)}?opened=false`);
      await api.remember(`/api/me/readings/${encodeURIComponent(item.key)}`, full);
    } catch {
      return;  // offline again: what is saved stays saved
    }
  }
}

export default async function readings() {
  await use('participant');
  const feed = await api.get('/api/me/readings', { offline: true });
  if (!feed.__stale) keepForOffline(feed.items);
  return h('section', {},
    h('h1', {}, t('readings.title')),
    staleNote(feed),
    feed.items.length === 0 ? notice(t('readings.none')) : h('ul', { class: 'list card' }, feed.items.map((item) => h('li', {},
      h('a', { class: 'item', href: `#/readings/${encodeURIComponent(item.key)}` },
        h('span', {}, h('strong', {}, item.title), h('br'), h('span', { class: 'muted' }, item.summary)),
        h('span', { class: 'row' },
          item.new ? h('span', { class: 'badge ok' }, t('readings.new')) : null,
          h('span', { class: 'muted' }, t('readings.minutes', { minutes: item.reading_minutes }))))))),
    feed.items.length ? h('p', { class: 'muted' }, t('readings.offline_hint', { date: fmt.shortDate(new Date()) })) : null);
}
