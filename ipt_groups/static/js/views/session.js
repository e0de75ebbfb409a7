// One of my sessions (where a reminder's tap lands): when, where, "I can't come".
import * as api from '../core/api.js';
import * as fmt from '../core/fmt.js';
import { t, use } from '../core/i18n.js';
import { h, notice, staleNote } from '../core/ui.js';
import { cannotCome, ownTime } from './home.js';

export default async function session({ params, app }) {
  await use('participant');
  const schedule = await api.get('/api/me/schedule', { offline: true });
  const id = Number(params.id);
  const event = schedule.events.find((e) => e.session_id === id);
  if (!event) {
    return h('section', { class: 'card' }, h('h1', {}, t('session.title')), notice(t('session.not_found'), 'warn'),
      h('a', { href: '#/' }, t('common.home')));
  }
  const past = new Date(event.ends_at) < new Date();
  return h('section', { class: 'card' },
    h('h1', {}, event.number ? t('home.session_of', { number: event.number, of: event.of }) : event.title),
    staleNote(schedule),
    h('p', { class: 'big', 'data-session-time': '' }, event.time_zone === app.me.time_zone
      ? fmt.dateTime(event.starts_at, app.me.time_zone) : ownTime(event, app.me)),
    event.location ? h('p', {}, t('home.where', { place: event.location })) : null,
    event.status === 'cancelled' ? notice(t('session.cancelled'), 'warn') : null,
    event.status === 'scheduled' && !past ? cannotCome(event) : null,
    h('p', {}, h('a', { href: '#/' }, t('common.back'))));
}
