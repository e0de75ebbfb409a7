// Risk alerts (staff): who, which group, when, why, and whether it has gone to
// the admins; a supervisor or admin closes one with the action taken. Below it,
// my in-app notifications. Nothing about an alert goes in the page title.
import * as api from '../core/api.js';
import * as fmt from '../core/fmt.js';
import { t, tn, use } from '../core/i18n.js';
import {
  button, errorText, field, flattenErrors, h, notice, showFieldErrors, staleNote, stylesheet, submitForm,
} from '../core/ui.js';

stylesheet('admin');

const ACTIONS = ['contacted', 'safety_plan', 'referred', 'emergency_services', 'other'];
const FILTERS = ['open', 'closed', 'all'];

function currentFilter() {
  const query = new URLSearchParams((location.hash.split('?')[1]) || '');
  const show = query.get('show');
  return FILTERS.includes(show) ? show : 'open';
}

function when(value) {
  return h('time', { datetime: value, title: fmt.dateTime(value) }, `${fmt.relative(value)} (${fmt.dateTime(value)})`);
}

function reason(alert) {
  if (alert.source === 'worried') {
    return [
      h('p', {}, t('alerts.source.worried')),
      alert.concern ? h('blockquote', { class: 'alert-concern' }, alert.concern) : h('p', { class: 'muted' }, t('alerts.no_concern')),
    ];
  }
  const items = (alert.risk_items || []).join(', ');
  const key = alert.source === 'self_check_in' ? 'alerts.source.self_check_in' : 'alerts.source.risk_item';
  return [
    h('p', {}, t(key)),
    alert.instrument || items
      ? h('p', { class: 'muted' }, t('alerts.items', { instrument: (alert.instrument || '').toUpperCase(), items: items || '-' }))
      : null,
  ];
}

function escalation(alert) {
  if (alert.status !== 'open') {
    return h('p', {}, h('span', { class: 'badge ok' }, t('alerts.state.acknowledged')), ' ',
      alert.acknowledged_at ? when(alert.acknowledged_at) : null);
  }
  if (alert.escalated_at) {
    return h('p', {}, h('span', { class: 'badge danger' }, t('alerts.state.escalated')), ' ', when(alert.escalated_at));
  }
  if (alert.escalates_at) {
    const overdue = new Date(alert.escalates_at) <= Date.now();
    return h('p', {}, h('span', { class: 'badge warn' }, t('alerts.state.open')), ' ',
      overdue ? t('alerts.escalates_due') : t('alerts.escalates_at', { when: fmt.relative(alert.escalates_at), time: fmt.dateTime(alert.escalates_at) }));
  }
  return h('p', {}, h('span', { class: 'badge warn' }, t('alerts.state.open')));
}

function outcome(alert) {
  if (alert.status === 'open') return null;
  return h('div', { class: 'notice ok' },
    h('p', {}, t('alerts.action_taken', { action: alert.action ? t(`alerts.action.${alert.action}`) : '-' })),
    alert.action_note ? h('p', {}, t('alerts.note_was', { note: alert.action_note })) : null);
}

function acknowledgeForm(alert, onDone) {
  const name = `action-${alert.id}`;
  const radios = ACTIONS.map((action) => h('li', {},
    h('label', {}, h('input', { type: 'radio', name, value: action, required: true }), t(`alerts.action.${action}`))));
  const note = h('textarea', { name: 'note', maxlength: '4000', rows: '3' });
  const message = h('div', { 'aria-live': 'polite' });
  const actionError = h('p', { class: 'error', id: `${name}-error`, hidden: true });
  const form = h('form', { class: 'stack alert-ack', novalidate: true },
    h('fieldset', { class: 'field', dataset: { field: 'action' }, 'aria-describedby': actionError.id },
      h('legend', {}, t('alerts.ack.legend')),
      h('ul', { class: 'checklist' }, radios),
      actionError),
    field(t('alerts.ack.note'), note, { hint: t('alerts.ack.note_hint') }),
    message,
    button(t('alerts.ack.submit'), null, { type: 'submit' }));
  form.addEventListener('change', (event) => {
    if (event.target.type !== 'radio') return;
    actionError.hidden = true;
    showFieldErrors(form, {});
      });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const chosen = form.querySelector(`input[name="${name}"]:checked`);
    message.replaceChildren();
    if (!chosen) {
      actionError.textContent = t('alerts.ack.choose');
      actionError.hidden = false;
      form.querySelector('input[type=radio]').focus();
      return;
    }
    actionError.hidden = true;
    if (chosen.value === 'other' && !note.value.trim()) {
      showFieldErrors(form, { note: [t('alerts.ack.note_needed')] });
      note.focus();
      return;
    }
    await submitForm(form, form.querySelector('button[type=submit]'), async () => {
      const updated = await api.post(`/api/alerts/${alert.id}/acknowledge`, { action: chosen.value, note: note.value.trim() || null });
      onDone(updated);
    }, {
      message,
      onError: (error) => {
        const matched = error.fields && showFieldErrors(form, error.fields);
        if (error.fields?.action) {
          actionError.textContent = flattenErrors({ action: error.fields.action }).action.join(' ');
          actionError.hidden = false;
        }
        return matched;
      },
    });
  });
  return form;
}

// The member's safety plan, from the alert: opened with ?alert= so the editor
// can acknowledge this alert with the version made.
function safetyPlanLink(alert) {
  const linked = alert.safety_plan_version_id;
  return h('p', { class: 'row' },
    h('a', { class: 'btn secondary small', href: `#/members/${alert.enrolment_id}/safety-plan?alert=${alert.id}`, dataset: { safetyPlanFor: String(alert.id) } },
      linked || alert.action === 'safety_plan' ? t('safety.alert_open') : t('safety.alert_make')),
    linked ? h('span', { class: 'badge ok' }, t('safety.alert_linked')) : null);
}

function alertCard(alert, me) {
  const box = h('li', { class: 'alert-item', dataset: { id: String(alert.id) } });
  const draw = (a) => {
    const canAck = a.can_acknowledge && ['supervisor', 'admin'].includes(me.role);
    box.replaceChildren(
      h('article', { class: 'stack' },
        h('div', { class: 'spread' },
          h('h2', { class: 'alert-name' }, a.display_name),
          h('a', { href: `#/cohorts/${a.cohort_id}` }, a.cohort_name)),
        h('p', { class: 'muted' }, t('alerts.opened'), ' ', when(a.opened_at)),
        reason(a),
        a.session_id ? h('p', {}, h('a', { href: `#/sessions/${a.session_id}` }, t('alerts.during_session'))) : null,
        escalation(a),
        outcome(a),
        safetyPlanLink(a),
        canAck
          ? h('details', { class: 'alert-ack-box' },
            h('summary', {}, t('alerts.ack.title')),
            acknowledgeForm(a, (updated) => {
              draw(updated);
              box.prepend(notice(t('alerts.ack.done'), 'ok'));
            }))
          : a.status === 'open'
            ? h('p', { class: 'hint' }, me.role === 'facilitator' ? t('alerts.ack.facilitator') : t('alerts.ack.not_yours'))
            : null));
  };
  draw(alert);
  return box;
}

async function notificationsSection() {
  let inbox;
  try {
    inbox = await api.get('/api/me/notifications', { offline: true });
  } catch (error) {
    return h('section', { class: 'card', 'aria-labelledby': 'inbox-title' },
      h('h2', { id: 'inbox-title' }, t('alerts.inbox.title')), notice(errorText(error), 'error'));
  }
  const count = h('p', { class: 'muted', 'aria-live': 'polite' });
  let unread = inbox.unread || 0;
  const drawCount = () => count.replaceChildren(unread ? tn('alerts.inbox.unread', unread) : t('alerts.inbox.all_read'));
  drawCount();
  const markRead = (item, li) => submitForm(null, null, async () => {
    const row = await api.post(`/api/me/notifications/${item.id}/read`);
    item.read_at = row.read_at || new Date().toISOString();
    unread = Math.max(0, unread - 1);
    drawCount();
    li.replaceWith(row_(item));
  }, { message: (node) => li.append(node) });
  const row_ = (item) => {
    const li = h('li', { class: item.read_at ? 'read' : 'unread', dataset: { id: String(item.id) } });
    li.append(
      h('div', { class: 'spread' },
        h('strong', {}, item.title),
        item.read_at ? h('span', { class: 'badge' }, t('alerts.inbox.read')) : h('span', { class: 'badge warn' }, t('alerts.inbox.new'))),
      h('p', {}, item.text),
      h('p', { class: 'muted' }, when(item.created_at)),
      h('div', { class: 'row' },
        item.url && !item.url.endsWith('#/alerts') ? h('a', { class: 'btn secondary small', href: item.url, onclick: () => { if (!item.read_at) api.post(`/api/me/notifications/${item.id}/read`).catch(() => {}); } }, t('alerts.inbox.open')) : null,
        item.read_at ? null : button(t('alerts.inbox.mark_read'), () => markRead(item, li), { kind: 'secondary small' })));
    return li;
  };
  return h('section', { class: 'card', 'aria-labelledby': 'inbox-title' },
    h('h2', { id: 'inbox-title' }, t('alerts.inbox.title')),
    staleNote(inbox),
    count,
    inbox.items?.length ? h('ul', { class: 'list' }, inbox.items.map(row_)) : notice(t('alerts.inbox.empty'), 'info'));
}

async function crisisBox() {
  try {
    const crisis = await api.get('/api/clinic/crisis-text', { offline: true });
    if (!crisis?.text) return null;
    return h('details', { class: 'alert-crisis' },
      h('summary', {}, t('alerts.crisis.title')),
      h('div', { class: 'crisis' }, crisis.text));
  } catch {
    return null;
  }
}

export default async function alerts({ app }) {
  await use('alerts', 'safety');
  const me = app.me;
  const filter = currentFilter();
  const query = filter === 'open' ? 'open' : 'all';
  const [list, inbox, crisis] = await Promise.all([
    api.get(`/api/alerts?status=${query}`, { offline: true }).catch((error) => ({ error })),
    notificationsSection(),
    crisisBox(),
  ]);

  const filterBar = h('div', { class: 'seg', role: 'group', 'aria-label': t('alerts.filter.label') },
    FILTERS.map((f) => h('button', {
      type: 'button', 'aria-pressed': String(f === filter),
      onclick: () => app.go(f === 'open' ? '/alerts' : `/alerts?show=${f}`),
    }, t(`alerts.filter.${f}`))));

  let body;
  if (list.error) {
    body = notice(errorText(list.error), 'error');
  } else {
    const shown = filter === 'closed' ? list.filter((a) => a.status !== 'open') : [...list];
    body = [
      staleNote(list),
      h('p', { class: 'muted', 'aria-live': 'polite' }, tn(`alerts.count.${filter}`, shown.length)),
      shown.length
        ? h('ul', { class: 'list alerts-list' }, shown.map((a) => alertCard(a, me)))
        : notice(filter === 'open' ? t('alerts.none_open') : t('alerts.none'), filter === 'open' ? 'ok' : 'info'),
    ];
  }

  return h('div', {},
    h('section', { class: 'card stack', 'aria-labelledby': 'alerts-title' },
      h('h1', { id: 'alerts-title' }, t('alerts.title')),
      h('p', {}, me.role === 'facilitator' ? t('alerts.intro.facilitator') : t('alerts.intro.manager')),
      crisis,
      filterBar,
      body),
    inbox);
}
