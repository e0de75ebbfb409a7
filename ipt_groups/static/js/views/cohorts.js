// Staff home, "My groups": the cohorts I can see, with their weekly slot in
// the group's own time zone, the next session and how full they are.
// Also exports small helpers the other cohort screens share.
import * as api from '../core/api.js';
import * as fmt from '../core/fmt.js';
import { t, tn, use } from '../core/i18n.js';
import { h, staleNote, stylesheet } from '../core/ui.js';

export const PROBLEM_AREAS = ['grief', 'disputes', 'life_changes', 'loneliness'];
const STATUS_KIND = { active: 'ok', planned: '', completed: '', cancelled: 'danger',
  enrolled: 'ok', waitlisted: 'warn', referred: 'warn', withdrawn: '', moved: '',
  scheduled: '', pending: 'ok', used: '', revoked: '', expired: '' };

export function canManageCohorts(me) {
  return !!me && (me.role === 'facilitator' || me.role === 'admin');
}

// A status word as a badge ("staff.status.active", "staff.status.enrolled" ...).
export function statusBadge(status) {
  const kind = STATUS_KIND[status];
  return h('span', { class: `badge${kind ? ` ${kind}` : ''}`, dataset: { status } }, t(`staff.status.${status}`));
}

// 0 = Monday ... 6 = Sunday, in the person's language (1 Jan 2024 was a Monday).
export function weekdayName(n) {
  return fmt.weekday(new Date(Date.UTC(2024, 0, 1 + Number(n), 12)), 'UTC');
}

// "17:00" -> the local way of writing that wall-clock time.
export function wallTime(hhmm) {
  if (!hhmm) return '';
  const [hh, mm] = hhmm.split(':').map(Number);
  return fmt.time(new Date(Date.UTC(2024, 0, 1, hh, mm)), 'UTC');
}

// "Tuesdays at 17:00 (Europe/London)", "los martes a las 17:00 (Europe/London)"
export function slotText(cohort) {
  return t('staff.slot', { days: t(`staff.weekdays.${cohort.weekday}`), time: wallTime(cohort.local_time), zone: cohort.time_zone });
}

// A session's start in the cohort's zone.
export function sessionWhen(session, zone) {
  return fmt.dateTime(session.starts_at, zone || session.time_zone);
}

export function sessionLabel(session) {
  return session.kind === 'catch_up' || session.number == null
    ? t('staff.session.catch_up')
    : t('staff.session.number_of', { number: session.number, of: session.of });
}

function cohortCard(cohort) {
  // The server sends the session in progress, if any, before the next one.
  const next = cohort.next_session;
  const now = next && new Date(next.starts_at).getTime() <= Date.now();
  return h('li', { class: 'card stack cohort-card', dataset: { cohortId: cohort.id } },
    h('div', { class: 'spread' },
      h('h2', { class: 'cohort-name' }, h('a', { href: `#/cohorts/${cohort.id}` }, cohort.name)),
      statusBadge(cohort.status)),
    h('p', { class: 'muted' }, cohort.programme_name),
    h('p', {}, slotText(cohort)),
    h('p', {}, next
      ? [h('strong', {}, t(now ? 'staff.cohorts.now' : 'staff.cohorts.next')), ' ',
        now ? h('a', { href: `#/sessions/${next.id}` }, sessionLabel(next)) : sessionLabel(next),
        ' · ', sessionWhen(next, cohort.time_zone)]
      : h('span', { class: 'muted' }, t('staff.cohorts.no_next'))),
    h('p', { class: 'row' },
      h('span', {}, t('staff.cohorts.members', { enrolled: cohort.enrolled, capacity: cohort.capacity })),
      cohort.waitlisted ? h('span', { class: 'badge warn' }, tn('staff.cohorts.waitlisted', cohort.waitlisted)) : null,
      cohort.below_minimum && ['planned', 'active'].includes(cohort.status)
        ? h('span', { class: 'badge warn' }, t('staff.cohorts.below_minimum')) : null));
}

async function alertsLink() {
  try {
    const alerts = await api.get('/api/alerts', { offline: true });
    if (!alerts.length) return null;
    return h('p', { class: 'notice warn' }, h('a', { href: '#/alerts' }, tn('staff.cohorts.open_alerts', alerts.length)));
  } catch {
    return null;
  }
}

export default async function cohortsView({ app }) {
  await use('staff');
  stylesheet('staff');
  const [cohorts, alerts] = await Promise.all([api.get('/api/cohorts', { offline: true }), alertsLink()]);
  const current = cohorts.filter((c) => c.status === 'planned' || c.status === 'active');
  const past = cohorts.filter((c) => !(c.status === 'planned' || c.status === 'active'));
  const byNext = (a, b) => (a.next_session?.starts_at || '9999').localeCompare(b.next_session?.starts_at || '9999');
  current.sort(byNext);
  return h('section', { class: 'stack staff-page' },
    h('div', { class: 'spread' },
      h('h1', {}, t('staff.cohorts.title')),
      canManageCohorts(app.me) ? h('a', { class: 'btn primary', href: '#/cohorts/new' }, t('staff.cohorts.new')) : null),
    staleNote(cohorts),
    alerts,
    cohorts.length === 0 ? h('p', { class: 'card' }, t('staff.cohorts.empty')) : null,
    current.length ? h('ul', { class: 'grid staff-cards', 'aria-label': t('staff.cohorts.current') }, current.map(cohortCard)) : null,
    past.length ? [h('h2', {}, t('staff.cohorts.past')), h('ul', { class: 'grid staff-cards' }, past.map(cohortCard))] : null);
}
