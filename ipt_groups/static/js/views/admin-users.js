// Staff accounts (admins): who has access, in which role; create, change role,
// disable and enable. Participants join with invites, not here.
import * as api from '../core/api.js';
import * as fmt from '../core/fmt.js';
import { LANGUAGES, t, tn, use } from '../core/i18n.js';
import {
  button, errorText, field, flattenErrors, h, loadInto, notice, showFieldErrors, staleNote, submitForm, unmatchedErrors,
} from '../core/ui.js';
import { adminNav } from './admin-nav.js';

const ROLES = ['facilitator', 'supervisor', 'admin'];

function roleSelect(name, value) {
  return h('select', { name }, ROLES.map((r) => h('option', { value: r, selected: r === value }, t(`admin.role.${r}`))));
}

function userRow(user, app, reload) {
  const message = h('div', { 'aria-live': 'polite' });
  const self = user.id === app.me.id;
  const role = roleSelect('role', user.role);
  role.disabled = !user.active;
  role.setAttribute('aria-label', t('admin.users.role_of', { name: user.display_name }));
  role.addEventListener('change', async () => {
    const next = role.value;
    if (!confirm(t('admin.users.role_confirm', { name: user.display_name, role: t(`admin.role.${next}`) }))) {
      role.value = user.role;
      return;
    }
    await submitForm(null, role, async () => {
      await api.patch(`/api/users/${user.id}`, { role: next });
      await reload(t('admin.users.role_changed', { name: user.display_name }));
    }, { message, onError: () => { role.value = user.role; } });
  });
  const toggleActive = async (event) => {
    const disabling = user.active;
    if (disabling && !confirm(t('admin.users.disable_confirm', { name: user.display_name }))) return;
    await submitForm(null, event.target, async () => {
      await api.post(`/api/users/${user.id}/${disabling ? 'disable' : 'enable'}`);
      await reload(t(disabling ? 'admin.users.disabled_done' : 'admin.users.enabled_done', { name: user.display_name }));
    }, { message });
  };
  return h('li', { class: 'user-row', dataset: { id: String(user.id) } },
    h('div', { class: 'spread' },
      h('div', {},
        h('strong', {}, user.display_name), self ? h('span', { class: 'muted' }, ` ${t('admin.users.you')}`) : null,
        h('div', { class: 'muted' }, user.email || user.username || '')),
      h('span', { class: `badge ${user.active ? 'ok' : 'danger'}` }, user.active ? t('admin.users.active') : t('admin.users.disabled'))),
    h('p', { class: 'muted' }, user.last_login_at
      ? t('admin.users.last_login', { when: fmt.relative(user.last_login_at) })
      : t('admin.users.never_logged_in'),
    user.disabled_at ? ` · ${t('admin.users.disabled_on', { when: fmt.date(user.disabled_at) })}` : ''),
    h('div', { class: 'row user-actions' },
      field(t('admin.users.role'), role),
      self ? null : button(user.active ? t('admin.users.disable') : t('admin.users.enable'), toggleActive,
        { kind: user.active ? 'danger small' : 'secondary small', 'aria-label': t(user.active ? 'admin.users.disable_named' : 'admin.users.enable_named', { name: user.display_name }) })),
    message);
}

function createForm(reload) {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const inputs = {
    display_name: h('input', { name: 'display_name', autocomplete: 'off', required: true, maxlength: '120' }),
    email: h('input', { name: 'email', type: 'email', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', required: true }),
    role: roleSelect('role', 'facilitator'),
    password: h('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: '12' }),
    language: h('select', { name: 'language' }, LANGUAGES.map((l) => h('option', { value: l }, t(`admin.lang.${l}`)))),
    time_zone: h('input', { name: 'time_zone', value: zone, autocapitalize: 'none', spellcheck: 'false', required: true }),
  };
  const message = h('div', { 'aria-live': 'polite' });
  const form = h('form', { novalidate: true, class: 'grid-form' },
    field(t('admin.users.name'), inputs.display_name),
    field(t('admin.users.email'), inputs.email),
    field(t('admin.users.role'), inputs.role, { hint: t('admin.users.role_hint') }),
    field(t('admin.users.password'), inputs.password, { hint: t('admin.users.password_hint') }),
    field(t('admin.users.language'), inputs.language),
    field(t('admin.users.time_zone'), inputs.time_zone, { hint: t('admin.users.time_zone_hint') }),
    message,
    button(t('admin.users.create'), null, { type: 'submit' }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.replaceChildren();
    showFieldErrors(form, {});
    const body = Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value.trim()]));
    body.password = inputs.password.value;  // exactly as typed
    await submitForm(form, form.querySelector('button[type=submit]'), async () => {
      const user = await api.post('/api/users', body);
      form.reset();
      inputs.time_zone.value = zone;
      await reload(t('admin.users.created', { name: user.display_name }));
    }, {
      message,
      focusInvalid: true,
      onError: (error) => {
        let fields = flattenErrors(error.fields);
        if (error.code === 'email_taken') fields = { email: [errorText(error)] };
        const matched = showFieldErrors(form, fields);
        const rest = unmatchedErrors(form, fields);
        if (rest.length) message.replaceChildren(notice(rest.join(' '), 'error'));
        return matched || rest.length > 0;
      },
    });
  });
  return form;
}

export default async function adminUsers({ app, path }) {
  await use('admin');
  const listBox = h('div', {});
  const said = h('div', { 'aria-live': 'polite' });
  const load = (message) => loadInto(listBox, () => api.get('/api/users?include_disabled=true&per_page=200', { offline: true }), (page) => {
    const users = [...page.items].sort((a, b) => (b.active - a.active) || a.display_name.localeCompare(b.display_name));
    said.replaceChildren(...(message ? [notice(message, 'ok')] : []));
    return [
      staleNote(page),
      h('p', { class: 'muted' }, tn('admin.users.count', page.total)),
      h('ul', { class: 'list users' }, users.map((u) => userRow(u, app, load))),
    ];
  });
  await load();
  return h('div', { class: 'admin' },
    adminNav(path),
    h('section', { class: 'card', 'aria-labelledby': 'users-title' },
      h('h1', { id: 'users-title' }, t('admin.users.title')),
      h('p', {}, t('admin.users.intro')),
      said,
      listBox),
    h('section', { class: 'card', 'aria-labelledby': 'new-user-title' },
      h('h2', { id: 'new-user-title' }, t('admin.users.new_title')),
      createForm(load)));
}
