// The participant's home: the next session in their own time, "I can't come",
// a check-in when one is due, new readings, and turning reminders on.
import * as api from '../core/api.js';
import * as fmt from '../core/fmt.js';
import { t, tn, use } from '../core/i18n.js';
import * as push from '../core/push.js';
import { button, field, h, notice, staleNote, submitForm } from '../core/ui.js';

// A time in the member's own zone, labelled with that zone (event.time_zone is
// the zone the group meets in, which labels only the group's clock).
export function ownTime(event, me) {
  return t('home.own_time', { time: fmt.dateTime(event.starts_at, me.time_zone), zone: me.time_zone });
}

function when(event, me) {
  if (event.time_zone === me.time_zone) return [fmt.dateTime(event.starts_at, me.time_zone)];
  // The group meets in another zone: say which zone each clock is in.
  return [ownTime(event, me), t('home.group_time', { time: fmt.dateTime(event.starts_at, event.time_zone), zone: event.time_zone })];
}

export function cannotCome(event) {
  const box = h('div', { class: 'stack', 'aria-live': 'polite' });
  const path = `/api/me/sessions/${event.session_id}/cannot-come`;
  const queuedNote = () => h('p', { class: 'notice warn', role: 'status', dataset: { cannotComeQueued: '' } },
    t('home.queued_offline'));
  const draw = (queued = false) => {
    if (event.cannot_come) {
      box.replaceChildren(
        queued ? queuedNote() : notice(t('home.told_cannot_come'), 'ok'),
        button(t('home.can_come_after_all'), () => submitForm(null, null, async () => {
          const res = await api.del(path, undefined, { queue: t('home.q_can_come') });
          event.cannot_come = false;
          draw(res && res.__queued);
        }, { message: (node) => box.append(node) }), { kind: 'secondary' }));
      return;
    }
    const reason = h('input', { name: 'reason', maxlength: 200, autocomplete: 'off' });
    const form = h('form', { class: 'stack', hidden: true },
      field(t('home.reason'), reason, { hint: t('home.reason_hint') }),
      h('div', { class: 'row' },
        button(t('home.send_cannot_come'), null, { type: 'submit', kind: 'danger', dataset: { sendCannotCome: '' } }),
        button(t('common.cancel'), () => { form.hidden = true; open.hidden = false; }, { kind: 'quiet' })));
    const open = button(t('home.cannot_come'), () => { form.hidden = false; open.hidden = true; reason.focus(); }, { kind: 'secondary', dataset: { cannotCome: '' } });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      // Through the outbox like the runner's writes: offline it waits on
      // this phone and is sent once (one Idempotency-Key) when back online.
      await submitForm(form, null, async () => {
        const res = await api.put(path, reason.value.trim() ? { reason: reason.value.trim() } : {},
          { queue: t('home.q_cannot_come') });
        event.cannot_come = true;
        draw(res && res.__queued);
      }, { message: (node) => form.append(node) });
    });
    box.replaceChildren(...(queued ? [queuedNote()] : []), open, form);
  };
  draw();
  return box;
}

async function reminders() {
  const state = await push.state().catch(() => 'unsupported');
  const box = h('section', { class: 'card', 'aria-labelledby': 'rem-h' }, h('h2', { id: 'rem-h' }, t('home.reminders')));
  if (state === 'on') return null;  // nothing to ask
  if (push.needsInstallFirst()) {
    box.append(h('p', {}, t('home.ios_install')));
    return box;
  }
  if (state === 'unsupported') {
    box.append(h('p', { class: 'muted' }, t('home.push_unsupported')));
    return box;
  }
  if (state === 'denied') {
    box.append(h('p', {}, t('home.push_denied')));
    return box;
  }
  const message = h('div', { 'aria-live': 'polite' });
  box.append(h('p', {}, t('home.reminders_why')), button(t('home.reminders_on'), async (e) => {
    // Not submitForm: the button stays disabled once asked (the browser asks only once).
    e.target.disabled = true;
    try {
      const answer = await push.enable();
      message.replaceChildren(answer === 'granted' ? notice(t('home.reminders_done'), 'ok') : notice(t('home.push_denied'), 'warn'));
    } catch {
      message.replaceChildren(notice(t('home.push_failed'), 'error'));
      e.target.disabled = false;
    }
  }), message);
  return box;
}

export default async function home({ app }) {
  await use('participant', 'safety');
  const me = app.me;
  const [schedule, checkIn, readings, plan] = await Promise.all([
    api.get('/api/me/schedule', { offline: true }),
    api.get('/api/me/check-in', { offline: true }).catch(() => null),
    api.get('/api/me/readings', { offline: true }).catch(() => null),
    // Fetched here too, so the plan is on the phone before the first time without signal.
    api.get('/api/me/safety-plan', { offline: true }).catch(() => null),
  ]);
  const parts = [h('h1', {}, t('home.hello', { name: me.display_name }))];
  parts.push(staleNote(schedule));
  if (sessionStorage.getItem('just-joined')) {
    sessionStorage.removeItem('just-joined');
    parts.push(notice(t('home.joined'), 'ok'));
  }
  if (checkIn && checkIn.due) {
    parts.push(h('section', { class: 'card', 'aria-labelledby': 'ci-h' },
      h('h2', { id: 'ci-h' }, t('home.checkin_due')),
      h('p', {}, t('home.checkin_why')),
      h('a', { class: 'btn', href: '#/check-in' }, t('home.checkin_start'))));
  }
  const next = schedule.next;
  let nextBody;
  if (schedule.status === 'waitlisted') {
    nextBody = h('p', {}, t('home.waitlisted', { position: schedule.waitlist_position ?? '?' }));
  } else if (!next) {
    nextBody = h('p', {}, t('home.no_next'));
  } else {
    const [local, groupTime] = when(next, me);
    nextBody = [
      h('p', { class: 'big', 'data-next-session': next.session_id ?? '' }, local),
      groupTime ? h('p', { class: 'muted', 'data-group-time': '' }, groupTime) : null,
      next.number ? h('p', {}, t('home.session_of', { number: next.number, of: next.of })) : null,
      next.location ? h('p', {}, t('home.where', { place: next.location })) : null,
      schedule.facilitators?.length ? h('p', { class: 'muted' }, t('home.with', { names: schedule.facilitators.join(', ') })) : null,
      next.session_id ? cannotCome(next) : null,
    ];
  }
  const nextCard = h('section', { class: 'card', 'aria-labelledby': 'next-h' }, h('h2', { id: 'next-h' }, t('home.next')), nextBody);
  parts.push(nextCard);
  parts.push(await reminders());
  if (plan && plan.version) {
    parts.push(h('section', { class: 'card', 'aria-labelledby': 'sp-h' },
      h('h2', { id: 'sp-h' }, t('safety.my_title')),
      h('p', {}, t('safety.home_intro')),
      h('a', { href: '#/safety-plan', dataset: { openSafetyPlan: '' } }, t('safety.my_open'))));
  }
  if (readings && readings.items) {
    const fresh = readings.items.filter((r) => r.new).length;
    parts.push(h('section', { class: 'card', 'aria-labelledby': 'rd-h' },
      h('h2', { id: 'rd-h' }, t('nav.readings')),
      h('p', {}, fresh ? tn('home.new_readings', fresh) : t('home.readings_intro')),
      h('a', { href: '#/readings' }, t('home.open_readings'))));
  }
  const later = schedule.events.filter((e) => e.status === 'scheduled' && new Date(e.ends_at) > new Date() && e !== next && e.session_id !== next?.session_id);
  if (later.length) {
    parts.push(h('section', { class: 'card', 'aria-labelledby': 'cal-h' },
      h('h2', { id: 'cal-h' }, t('home.later')),
      later.some((e) => e.time_zone !== me.time_zone)
        ? h('p', { class: 'muted', 'data-times-in': me.time_zone }, t('home.times_in', { zone: me.time_zone })) : null,
      h('ul', { class: 'list' }, later.slice(0, 8).map((e) => h('li', {},
        h('a', { class: 'item', href: e.session_id ? `#/sessions/${e.session_id}` : '#/' },
          h('span', {}, fmt.dateTime(e.starts_at, me.time_zone)),
          e.cannot_come ? h('span', { class: 'badge warn' }, t('home.not_coming')) : h('span', { class: 'muted' }, e.title))))),
      h('p', {}, h('a', { href: '#/settings' }, t('home.calendar_feed')))));
  }
  return h('section', {}, parts);
}
