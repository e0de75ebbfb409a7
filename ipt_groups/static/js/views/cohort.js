// One cohort: members (enrol, withdraw), calendar, invites, waitlist, and the
// cohort's lifecycle. Tabs follow the WAI-ARIA tabs pattern (arrow keys move).
import * as api from '../core/api.js';
import * as fmt from '../core/fmt.js';
import { t, tn, use } from '../core/i18n.js';
import {
  button, errorText, field, h, loadInto, loading, notice, showFieldErrors, staleNote, stylesheet, submitForm, uid,
} from '../core/ui.js';
import {
  PROBLEM_AREAS, sessionLabel, sessionWhen, slotText, statusBadge,
} from './cohorts.js';
import { unreadBadge } from './fidelity.js';
import { inventoryPanel } from './inventory.js';
import { memberMeetings } from './meetings.js';

const TABS = ['members', 'calendar', 'invites', 'waitlist', 'texts'];
const TRANSITION_KIND = { active: 'primary', completed: 'secondary', cancelled: 'danger' };
// replaceChildren() would print "null" for an absent part.
const put = (el, ...kids) => el.replaceChildren(...kids.flat().filter((k) => k != null && k !== false));

function tabFromHash() {
  const query = (location.hash.split('?')[1] || '');
  const tab = new URLSearchParams(query).get('tab');
  return TABS.includes(tab) ? tab : 'members';
}

// ---- Shared bits ----------------------------------------------------------

// A freshly issued invite: the code big, the link, and the QR code (shown once).
export function issuedInvite(invite, name) {
  const src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(invite.qr_svg || '')}`;
  return h('div', { class: 'card staff-invite', role: 'region', 'aria-label': t('staff.invites.issued_for', { name }) },
    h('div', { class: 'qr' }, h('img', { src, alt: t('staff.invites.qr_alt', { name }), width: 224, height: 224 })),
    h('div', { class: 'stack' },
      h('p', {}, t('staff.invites.issued_for', { name })),
      h('p', { class: 'code', 'aria-label': t('staff.invites.code_label', { code: invite.code.split('').join(' ') }) }, invite.code),
      h('p', { class: 'staff-url' }, h('span', { class: 'muted' }, t('staff.invites.link'), ' '), h('a', { href: invite.url }, invite.url)),
      h('p', { class: 'muted' }, t('staff.invites.expires', { when: fmt.dateTime(invite.expires_at) })),
      notice(t('staff.invites.once'), 'warn')));
}

function yesNo(name, legend) {
  const id = uid('yn');
  const errorEl = h('p', { class: 'error', id: `${id}-error`, hidden: true });
  return h('div', { class: 'field', dataset: { field: name } },
    h('fieldset', { class: 'staff-fieldset', 'aria-describedby': errorEl.id },
      h('legend', {}, legend),
      h('div', { class: 'row' },
        h('label', { class: 'staff-choice' }, h('input', { type: 'radio', name, value: 'yes', required: true }), t('common.yes')),
        h('label', { class: 'staff-choice' }, h('input', { type: 'radio', name, value: 'no' }), t('common.no')))),
    errorEl);
}

function checkGroup(name, legend, items, hint) {
  const id = uid('cg');
  const errorEl = h('p', { class: 'error', id: `${id}-error`, hidden: true });
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  return h('div', { class: 'field', dataset: { field: name } },
    h('fieldset', { class: 'staff-fieldset', 'aria-describedby': [hintEl?.id, errorEl.id].filter(Boolean).join(' ') },
      h('legend', {}, legend), hintEl,
      h('div', { class: 'row' }, items.map(([value, label]) => h('label', { class: 'staff-choice' },
        h('input', { type: 'checkbox', name, value }), label)))),
    errorEl);
}

// ---- Members --------------------------------------------------------------

function enrolForm(cohort, onDone) {
  const out = h('div', { 'aria-live': 'polite' });
  const referral = field(t('staff.enrol.referral_note'), h('textarea', { name: 'referral_note', maxlength: 500 }),
    { hint: t('staff.enrol.referral_hint') });
  referral.hidden = true;
  const consentVersion = h('input', { name: 'consent.version', value: '1', maxlength: 40, autocomplete: 'off' });
  const form = h('form', { class: 'card staff-enrol', novalidate: true },
    h('h3', {}, t('staff.enrol.title')),
    h('div', { class: 'staff-form-grid' },
      field(t('staff.enrol.display_name'), h('input', { name: 'display_name', required: true, maxlength: 120, autocomplete: 'off' }),
        { hint: t('staff.enrol.display_name_hint') }),
      field(t('staff.enrol.phone'), h('input', { name: 'contact_phone', type: 'tel', autocomplete: 'off', inputmode: 'tel' })),
      field(t('staff.enrol.email'), h('input', { name: 'contact_email', type: 'email', autocomplete: 'off' })),
      field(t('staff.enrol.language'), h('select', { name: 'language' },
        ['en', 'es'].map((l) => h('option', { value: l, selected: l === cohort.language }, t(`staff.lang.${l}`)))))),
    h('h4', {}, t('staff.enrol.screening')),
    h('p', { class: 'hint' }, t('staff.enrol.screening_intro')),
    yesNo('screening.suicide_plan_or_attempt', t('staff.enrol.q_suicide')),
    yesNo('screening.needs_specialist_care', t('staff.enrol.q_specialist')),
    referral,
    h('div', { class: 'staff-if-eligible stack' },
      checkGroup('problem_areas', t('staff.enrol.problem_areas'),
        PROBLEM_AREAS.map((a) => [a, t(`staff.area.${a}`)]), t('staff.enrol.problem_areas_hint')),
      field(t('staff.enrol.goal'), h('textarea', { name: 'goal', maxlength: 500 })),
      h('h4', {}, t('staff.enrol.consent')),
      h('div', { class: 'field', dataset: { field: 'consent.given' } },
        h('label', { class: 'staff-choice' }, h('input', { type: 'checkbox', name: 'consent.given' }), t('staff.enrol.consent_given')),
        h('p', { class: 'error', hidden: true })),
      h('div', { class: 'field', dataset: { field: 'consent' } }, h('p', { class: 'error', hidden: true })),
      h('div', { class: 'field', dataset: { field: 'sms_consent' } },
        h('label', { class: 'staff-choice' }, h('input', { type: 'checkbox', name: 'sms_consent' }), t('staff.enrol.sms_consent')),
        h('p', { class: 'error', hidden: true })),
      h('div', { class: 'field', dataset: { field: 'email_consent' } },
        h('label', { class: 'staff-choice' }, h('input', { type: 'checkbox', name: 'email_consent' }), t('staff.enrol.email_consent')),
        h('p', { class: 'error', hidden: true })),
      field(t('staff.enrol.consent_version'), consentVersion, { hint: t('staff.enrol.consent_version_hint') })),
    out,
    h('div', { class: 'row' }, button(t('staff.enrol.submit'), null, { type: 'submit' })));

  const eligibleBox = form.querySelector('.staff-if-eligible');
  const referred = () => ['screening.suicide_plan_or_attempt', 'screening.needs_specialist_care']
    .some((n) => form.querySelector(`input[name="${n}"][value="yes"]`).checked);
  form.addEventListener('change', () => {
    const r = referred();
    referral.hidden = !r;
    eligibleBox.hidden = r;
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const answer = (n) => (data.get(n) == null ? undefined : data.get(n) === 'yes');
    const text = (n) => (data.get(n) || '').trim() || undefined;
    const body = {
      display_name: (data.get('display_name') || '').trim(),
      contact_phone: text('contact_phone'),
      contact_email: text('contact_email'),
      language: data.get('language'),
      screening: {
        suicide_plan_or_attempt: answer('screening.suicide_plan_or_attempt'),
        needs_specialist_care: answer('screening.needs_specialist_care'),
      },
    };
    if (referred()) {
      body.referral_note = text('referral_note');
    } else {
      body.problem_areas = data.getAll('problem_areas');
      body.goal = text('goal');
      if (data.get('consent.given')) body.consent = { version: consentVersion.value.trim(), given: true };
      body.sms_consent = !!data.get('sms_consent');
      body.email_consent = !!data.get('email_consent');
    }
    put(out);
    form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
    await submitForm(form, form.querySelector('button[type=submit]'), async () => {
      const result = await api.post(`/api/cohorts/${cohort.id}/enrolments`, body);
      const e = result.enrolment;
      const kind = e.status === 'enrolled' ? 'ok' : 'warn';
      const said = e.status === 'waitlisted'
        ? t('staff.enrol.result.waitlisted', { name: e.display_name, position: e.waitlist_position ?? '?' })
        : t(`staff.enrol.result.${e.status}`, { name: e.display_name });
      onDone(h('div', { class: 'stack' }, notice(said, kind),
        e.username ? h('p', {}, t('staff.enrol.username', { username: e.username })) : null,
        result.invite ? issuedInvite(result.invite, e.display_name) : null));
    }, {
      message: out,
      onError: (error) => {
        const matched = error.status === 422 && showFieldErrors(form, error.fields);
        if (matched) put(out, notice(t('staff.new.fix_fields'), 'error'));
        return matched;
      },
    });
  });
  return form;
}

function withdrawForm(member, onDone, onCancel) {
  const reason = h('input', { name: 'reason', required: true, maxlength: 500, autocomplete: 'off' });
  const out = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { class: 'staff-inline-form', novalidate: true },
    field(t('staff.members.withdraw_reason', { name: member.display_name }), reason),
    out,
    h('div', { class: 'row' },
      button(t('staff.members.withdraw_confirm'), null, { type: 'submit', kind: 'danger small' }),
      button(t('common.cancel'), onCancel, { kind: 'quiet small' })));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    await submitForm(form, null, async () => {
      await api.post(`/api/enrolments/${member.id}/withdraw`, { reason: reason.value.trim() });
      onDone(t('staff.members.withdrawn', { name: member.display_name }));
    }, { message: out, onError: (error) => error.status === 422 && showFieldErrors(form, error.fields) });
  });
  setTimeout(() => reason.focus(), 0);
  return form;
}

async function membersPanel(cohort, ctx) {
  const panel = h('div', { class: 'stack' });
  const status = h('div', { 'aria-live': 'polite' });
  const listBox = h('div', {});
  const manage = cohort.can_manage && ['planned', 'active'].includes(cohort.status);

  async function refresh(message, changed = true) {
    if (message) put(status, notice(message, 'ok'));
    if (changed) ctx.changed?.();
    await loadInto(listBox, () => api.get(`/api/cohorts/${cohort.id}/enrolments`, { offline: true }), (members) => {
      ctx.members = members;
      return members.length ? memberList(members) : h('p', { class: 'muted' }, t('staff.members.empty'));
    });
  }

  function memberList(members) {
    const counts = {};
    members.forEach((m) => { counts[m.status] = (counts[m.status] || 0) + 1; });
    return [
      staleNote(members),
      h('p', { class: 'muted' }, Object.entries(counts).map(([s, n]) => `${t(`staff.status.${s}`)}: ${n}`).join(' · ')),
      h('ul', { class: 'list staff-members' }, members.map((m) => {
        const slot = h('div', {});
        const canWithdraw = cohort.can_manage && ['enrolled', 'waitlisted'].includes(m.status);
        const canReactivate = cohort.can_manage && m.status === 'withdrawn' && ['planned', 'active'].includes(cohort.status);
        const li = h('li', { dataset: { enrolmentId: m.id } },
          h('div', { class: 'spread' },
            h('div', {},
              h('strong', {}, m.display_name), ' ', statusBadge(m.status),
              m.waitlist_position ? h('span', { class: 'muted' }, ' ', t('staff.waitlist.position', { position: m.waitlist_position })) : null,
              h('br'),
              h('span', { class: 'muted' }, m.username ? t('staff.members.username', { username: m.username }) : t('staff.members.no_account'),
                m.username ? [' · ', m.has_logged_in ? t('staff.members.logged_in') : t('staff.members.not_logged_in')] : null)),
            h('div', { class: 'row' },
              h('a', { class: 'btn secondary small', href: `#/members/${m.id}/safety-plan`, 'aria-label': t('safety.member_link_name', { name: m.display_name }) }, t('safety.member_link')),
              // One-to-one meetings (views/meetings.js): booking, guide, measures.
              ['enrolled', 'waitlisted'].includes(m.status) ? button(t('meetings.button'), async () => {
                put(slot, await memberMeetings(m, cohort));
              }, { kind: 'secondary small', 'aria-label': t('meetings.button_name', { name: m.display_name }) }) : null,
              canWithdraw ? button(t('staff.members.withdraw'), () => {
                put(slot, withdrawForm(m, (msg) => refresh(msg), () => put(slot)));
              }, { kind: 'secondary small', 'aria-label': t('staff.members.withdraw_name', { name: m.display_name }) }) : null,
              canReactivate ? button(t('staff.members.reactivate'), () => submitForm(null, null, async () => {
                const r = await api.post(`/api/enrolments/${m.id}/reactivate`);
                refresh(t(`staff.enrol.result.${r.status}`, { name: r.display_name, position: r.waitlist_position ?? '?' }));
              }, { message: status }), { kind: 'secondary small', 'aria-label': t('staff.members.reactivate_name', { name: m.display_name }) }) : null)),
          slot,
          inventoryPanel(m, { canEdit: cohort.can_manage }));
        return li;
      })),
    ];
  }

  const addSlot = h('div', {});
  const result = h('div', { 'aria-live': 'polite' });
  const showForm = (open) => {
    addButton.setAttribute('aria-expanded', String(open));
    put(addSlot, open ? enrolForm(cohort, (node) => {
      showForm(false);
      put(result, node);
      refresh();
      result.scrollIntoView({ block: 'start' });
    }) : null);
    if (open) { put(result); addSlot.querySelector('input')?.focus(); }
  };
  const addButton = manage ? button(t('staff.members.add'), () => {
    showForm(addButton.getAttribute('aria-expanded') !== 'true');
  }, { kind: 'primary', 'aria-expanded': 'false' }) : null;

  panel.append(h('div', { class: 'spread' }, h('h2', {}, t('staff.tab.members')), addButton), addSlot, result, status, listBox);
  await refresh(null, false);
  return panel;
}

// ---- Calendar -------------------------------------------------------------

async function calendarPanel(cohort, ctx) {
  const sessions = ctx.sessions || await api.get(`/api/cohorts/${cohort.id}/sessions`, { offline: true });
  const now = Date.now();
  return h('div', { class: 'stack' },
    h('h2', {}, t('staff.tab.calendar')),
    h('p', { class: 'muted' }, t('staff.calendar.zone_note', { zone: cohort.time_zone })),
    staleNote(sessions),
    sessions.length === 0 ? h('p', { class: 'muted' }, t('staff.calendar.empty')) : null,
    h('ol', { class: 'list staff-sessions' }, sessions.map((s) => {
      const past = new Date(s.ends_at).getTime() < now;
      const running = new Date(s.starts_at).getTime() <= now && !past;
      return h('li', { class: `spread${past ? ' staff-past' : ''}`, dataset: { sessionId: s.id } },
        h('div', {},
          h('strong', {}, sessionLabel(s)), ' ',
          s.phase ? h('span', { class: 'badge' }, t(`staff.phase.${s.phase}`)) : null, ' ',
          s.status === 'cancelled' ? statusBadge('cancelled') : null,
          running ? h('span', { class: 'badge ok' }, t('staff.calendar.now')) : null,
          h('br'),
          h('span', {}, sessionWhen(s, cohort.time_zone)),
          s.rescheduled ? h('span', { class: 'muted' }, ' · ', t('staff.calendar.moved_from', { when: sessionWhen({ starts_at: s.original_starts_at }, cohort.time_zone) })) : null,
          s.cancel_reason ? h('span', { class: 'muted' }, ' · ', s.cancel_reason) : null),
        s.status === 'cancelled' ? null
          : h('a', { class: `btn ${running ? 'primary' : 'secondary'} small`, href: `#/sessions/${s.id}`,
            'aria-label': t('staff.calendar.run_label', { session: sessionLabel(s) }) }, t('staff.calendar.run')));
    })));
}

// ---- Invites --------------------------------------------------------------

function inviteRow(cohort, member) {
  const box = h('div', { class: 'stack' });
  const issuedBox = h('div', { 'aria-live': 'polite' });
  const manage = cohort.can_manage;

  function load() {
    return loadInto(box, () => api.get(`/api/enrolments/${member.id}/invites`), (invites) => [
      invites.length === 0 ? h('p', { class: 'muted' }, t('staff.invites.none')) : h('ul', { class: 'list' }, invites.map((inv) => h('li', { class: 'spread' },
        h('span', {}, statusBadge(inv.state), ' ',
          inv.state === 'used' && inv.used_at ? t('staff.invites.used_at', { when: fmt.dateTime(inv.used_at) })
            : inv.state === 'revoked' && inv.revoked_at ? t('staff.invites.revoked_at', { when: fmt.dateTime(inv.revoked_at) })
              : t('staff.invites.expires', { when: fmt.dateTime(inv.expires_at) })),
        manage && inv.state === 'pending' ? button(t('staff.invites.revoke'), async () => {
          if (!confirm(t('staff.invites.revoke_confirm', { name: member.display_name }))) return;
          await submitForm(null, null, async () => {
            await api.post(`/api/invites/${inv.id}/revoke`);
            put(issuedBox, notice(t('staff.invites.revoked'), 'ok'));
            load();
          }, { message: issuedBox });
        }, { kind: 'secondary small', 'aria-label': t('staff.invites.revoke_name', { name: member.display_name }) }) : null))),
      manage ? h('div', { class: 'row' }, button(member.has_logged_in ? t('staff.invites.issue_again') : t('staff.invites.issue'), () => submitForm(null, null, async () => {
        const issued = await api.post(`/api/enrolments/${member.id}/invites`);
        put(issuedBox, issuedInvite(issued, member.display_name));
        load();
      }, { message: issuedBox }), { kind: 'primary small', 'aria-label': t('staff.invites.issue_name', { name: member.display_name }) })) : null,
    ]);
  }

  const details = h('details', { class: 'card staff-invite-member', dataset: { enrolmentId: member.id } },
    h('summary', {}, h('strong', {}, member.display_name), ' ',
      member.has_logged_in ? h('span', { class: 'badge ok' }, t('staff.members.logged_in'))
        : h('span', { class: 'badge warn' }, t('staff.members.not_logged_in')),
      member.username ? h('span', { class: 'muted' }, ' ', member.username) : null),
    issuedBox, box);
  details.addEventListener('toggle', () => {
    if (details.open && !box.childNodes.length) { box.append(loading()); load(); }
  });
  return details;
}

async function invitesPanel(cohort, ctx) {
  const members = ctx.members || await api.get(`/api/cohorts/${cohort.id}/enrolments`, { offline: true });
  ctx.members = members;
  const invitable = members.filter((m) => ['enrolled', 'waitlisted'].includes(m.status));
  return h('div', { class: 'stack' },
    h('h2', {}, t('staff.tab.invites')),
    h('p', { class: 'muted' }, t('staff.invites.intro')),
    invitable.length === 0 ? h('p', { class: 'muted' }, t('staff.members.empty')) : null,
    invitable.map((m) => inviteRow(cohort, m)));
}

// ---- Waitlist -------------------------------------------------------------

// Texts members sent back to their reminders: "I can't come" (already recorded
// in the register), STOP / START, and anything else, for the facilitator to read.
async function textsPanel(cohort) {
  const replies = await api.get(`/api/cohorts/${cohort.id}/sms-replies`);
  if (!replies.length) return h('p', { class: 'muted' }, t('staff.texts.empty'));
  return h('ul', { class: 'stack staff-texts' }, replies.map((r) => {
    const read = button(t('staff.texts.mark_read'), (event) => submitForm(null, event.target, async () => {
      await api.post(`/api/sms-replies/${r.id}/read`);
      event.target.replaceWith(h('span', { class: 'muted' }, t('staff.texts.read')));
    }, { message: (node) => event.target.after(node) }), { kind: 'quiet' });
    return h('li', { class: 'card' },
      h('div', { class: 'spread' },
        h('strong', {}, r.display_name),
        h('span', { class: `badge ${r.action === 'message' ? '' : 'ok'}` }, t(`staff.texts.action.${r.action}`))),
      h('p', {}, r.text),
      r.ambiguous ? notice(t('staff.texts.ambiguous'), 'warn') : null,
      h('p', { class: 'muted' }, fmt.dateTime(r.received_at), ' ',
        r.read_at ? t('staff.texts.read') : read));
  }));
}

async function waitlistPanel(cohort) {
  const rows = await api.get(`/api/cohorts/${cohort.id}/waitlist`, { offline: true });
  return h('div', { class: 'stack' },
    h('h2', {}, t('staff.tab.waitlist')),
    staleNote(rows),
    h('p', { class: 'muted' }, t('staff.waitlist.intro')),
    rows.length === 0 ? h('p', {}, t('staff.waitlist.empty'))
      : h('ol', { class: 'list' }, rows.map((m) => h('li', { class: 'spread' },
        h('span', {}, h('strong', {}, t('staff.waitlist.position', { position: m.waitlist_position })), ' ', m.display_name),
        h('span', { class: 'muted' }, t('staff.waitlist.since', { when: fmt.date(m.queued_at) }))))));
}

// ---- The page -------------------------------------------------------------

function lifecycle(cohort, app) {
  if (!cohort.can_manage || !cohort.allowed_transitions.length) return null;
  const out = h('div', { 'aria-live': 'assertive' });
  return h('section', { class: 'card stack staff-lifecycle', 'aria-labelledby': 'staff-lifecycle-h' },
    h('h2', { id: 'staff-lifecycle-h' }, t('staff.lifecycle.title')),
    h('p', { class: 'hint' }, t(`staff.lifecycle.hint_${cohort.status}`)),
    h('div', { class: 'row' }, cohort.allowed_transitions.map((next) => button(t(`staff.lifecycle.${next}`), async () => {
      if (!confirm(t(`staff.lifecycle.${next}_confirm`, { name: cohort.name }))) return;
      await submitForm(null, null, async () => {
        await api.post(`/api/cohorts/${cohort.id}/status`, { status: next });
        app.rerender();
      }, { message: out });
    }, { kind: TRANSITION_KIND[next] || 'secondary' }))),
    out);
}

export default async function cohortView({ params, app }) {
  await use('staff', 'safety', 'meetings');
  stylesheet('staff');
  const id = encodeURIComponent(params.id);
  const [cohort, sessions] = await Promise.all([
    api.get(`/api/cohorts/${id}`, { offline: true }),
    api.get(`/api/cohorts/${id}/sessions`, { offline: true }).catch(() => null),
  ]);
  const ctx = { sessions };
  const nowMs = Date.now();
  const running = (sessions || []).find((x) => x.status !== 'cancelled'
    && new Date(x.starts_at).getTime() <= nowMs && nowMs < new Date(x.ends_at).getTime());
  const loaders = { members: membersPanel, calendar: calendarPanel, invites: invitesPanel, waitlist: waitlistPanel, texts: textsPanel };
  const tabs = {};
  const panels = {};
  const loaded = new Set();
  const tablist = h('div', { class: 'tabs', role: 'tablist', 'aria-label': t('staff.cohort.sections') });

  async function fill(name) {
    if (loaded.has(name)) return;
    loaded.add(name);
    put(panels[name], loading());
    try {
      put(panels[name], await loaders[name](cohort, ctx));
    } catch (error) {
      loaded.delete(name);
      put(panels[name], notice(error.offline ? t('common.offline_nothing_cached') : errorText(error), 'error'));
    }
  }

  function select(name, focus) {
    for (const n of TABS) {
      const on = n === name;
      tabs[n].setAttribute('aria-selected', String(on));
      tabs[n].tabIndex = on ? 0 : -1;
      panels[n].hidden = !on;
    }
    if (focus) tabs[name].focus();
    const hash = `#/cohorts/${cohort.id}${name === 'members' ? '' : `?tab=${name}`}`;
    if (location.hash !== hash) history.replaceState(null, '', hash);
    fill(name);
  }

  for (const name of TABS) {
    const tabId = `tab-${name}`;
    tabs[name] = h('button', { type: 'button', role: 'tab', id: tabId, 'aria-controls': `panel-${name}`, onclick: () => select(name) },
      t(`staff.tab.${name}`));
    panels[name] = h('div', { role: 'tabpanel', id: `panel-${name}`, 'aria-labelledby': tabId, tabindex: 0, hidden: true });
    tablist.append(tabs[name]);
  }
  tablist.addEventListener('keydown', (event) => {
    const i = TABS.findIndex((n) => tabs[n] === document.activeElement);
    if (i < 0) return;
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: TABS.length - 1 }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    select(TABS[(to + TABS.length) % TABS.length], true);
  });

  // Member counts in the header and the waitlist tab follow changes made here.
  const countsDd = h('dd', {});
  const drawCounts = (c) => {
    put(countsDd, t('staff.cohorts.members', { enrolled: c.enrolled, capacity: c.capacity }),
      c.waitlisted ? [' · ', tn('staff.cohorts.waitlisted', c.waitlisted)] : null,
      c.below_minimum && ['planned', 'active'].includes(c.status) ? [' ', h('span', { class: 'badge warn' }, t('staff.cohorts.below_minimum'))] : null);
    put(tabs.waitlist, t('staff.tab.waitlist'), c.waitlisted ? ` (${fmt.number(c.waitlisted)})` : null);
  };
  drawCounts(cohort);
  ctx.changed = async () => {
    loaded.delete('invites');
    loaded.delete('waitlist');
    ctx.members = null;
    try {
      drawCounts(await api.get(`/api/cohorts/${id}`, { offline: true }));
    } catch {
      // Offline: the counts stay as they were.
    }
  };

  const lead = cohort.staff.filter((s) => s.role === 'lead').map((s) => s.display_name);
  const co = cohort.staff.filter((s) => s.role === 'co_facilitator').map((s) => s.display_name);
  const sup = cohort.staff.filter((s) => s.role === 'supervisor').map((s) => s.display_name);
  const next = cohort.next_session; // the session in progress, if any, else the next
  const nextIsNow = next && new Date(next.starts_at).getTime() <= Date.now();

  const page = h('section', { class: 'stack staff-page' },
    h('p', {}, h('a', { href: '#/' }, t('staff.cohort.back'))),
    h('div', { class: 'spread' },
      h('h1', {}, cohort.name),
      statusBadge(cohort.status)),
    staleNote(cohort),
    h('div', { class: 'card staff-summary' },
      h('dl', { class: 'staff-facts' },
        h('dt', {}, t('staff.cohort.programme')), h('dd', {}, cohort.programme_name, ' · ', tn('staff.cohort.sessions', cohort.group_sessions)),
        h('dt', {}, t('staff.cohort.when')), h('dd', {}, slotText(cohort)),
        h('dt', {}, t('staff.cohort.starts')), h('dd', {}, fmt.date(`${cohort.start_date}T12:00:00Z`, 'UTC')),
        h('dt', {}, t(nextIsNow ? 'staff.cohort.now' : 'staff.cohort.next')), h('dd', {}, next ? [sessionLabel(next), ' · ', sessionWhen(next, cohort.time_zone)] : t('staff.cohorts.no_next')),
        h('dt', {}, cohort.location_kind === 'online' ? t('staff.new.online_link') : t('staff.new.place')),
        h('dd', {}, cohort.location
          ? (cohort.location_kind === 'online' ? h('a', { href: cohort.location, rel: 'noopener noreferrer', target: '_blank' }, cohort.location) : cohort.location)
          : t('common.none')),
        h('dt', {}, t('staff.cohort.members')), countsDd,
        h('dt', {}, t('staff.cohort.team')), h('dd', {},
          [lead.length ? t('staff.cohort.lead', { names: lead.join(', ') }) : null,
            co.length ? t('staff.cohort.co', { names: co.join(', ') }) : null,
            sup.length ? t('staff.cohort.supervised', { names: sup.join(', ') }) : t('staff.cohort.no_supervisor')].filter(Boolean).join(' · '))),
      h('div', { class: 'row' },
        h('a', { class: 'btn secondary', href: `#/cohorts/${cohort.id}/outcomes` }, t('staff.cohort.outcomes')),
        h('a', { class: 'btn secondary', href: `#/supervision/${cohort.id}` }, t('staff.cohort.supervision'), ' ', unreadBadge(cohort.id)),
        running ? h('a', { class: 'btn primary', href: `#/sessions/${running.id}` }, t('staff.cohort.run_now', { session: sessionLabel(running) }))
          : next ? h('a', { class: 'btn secondary', href: `#/sessions/${next.id}` }, t('staff.cohort.run_next')) : null),
),
    tablist,
    TABS.map((n) => panels[n]),
    lifecycle(cohort, app));
  select(tabFromHash());
  return page;
}
