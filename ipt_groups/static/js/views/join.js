// Join a group: the invite link (#/join/CODE, the code stays out of server
// logs), a scanned QR code (it opens that link) or a typed code; then a PIN.
import * as api from '../core/api.js';
import * as fmt from '../core/fmt.js';
import { t, use } from '../core/i18n.js';
import { button, errorText, field, h, notice, showFieldErrors, submitForm } from '../core/ui.js';

function codeError(error) {
  if (error.status === 404 || error.status === 410 || error.status === 422) return t('join.bad_code');
  if (error.status === 429) return t('login.too_many');
  return errorText(error);
}

function typeCode(app) {
  const input = h('input', { name: 'code', autocomplete: 'one-time-code', autocapitalize: 'characters', spellcheck: 'false', inputmode: 'text', required: true });
  const message = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { class: 'card', novalidate: true },
    h('h1', {}, t('join.title')),
    h('p', {}, t('join.intro')),
    field(t('join.code'), input, { hint: t('join.code_hint') }),
    message,
    button(t('join.next'), null, { type: 'submit' }));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const code = input.value.replace(/[^A-Za-z0-9]/g, '').toUpperCase();
    if (!code) {
      message.replaceChildren(notice(t('join.bad_code'), 'error'));
      return;
    }
    app.go(`/join/${code}`);
  });
  return h('section', {}, form, h('p', {}, h('a', { href: '#/login' }, t('join.have_account'))));
}

export default async function join({ params, app }) {
  await use('participant');
  if (!params.code) return typeCode(app);
  const code = params.code;
  let invite;
  try {
    invite = await api.post('/api/invites/check', { code });
  } catch (error) {
    return h('section', { class: 'card' }, h('h1', {}, t('join.title')),
      notice(codeError(error), 'error'), h('p', {}, h('a', { href: '#/join' }, t('join.type_code'))));
  }
  const pin = h('input', { name: 'pin', type: 'password', inputmode: 'numeric', autocomplete: 'new-password', required: true });
  const again = h('input', { name: 'pin_again', type: 'password', inputmode: 'numeric', autocomplete: 'new-password', required: true });
  const message = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { class: 'card', novalidate: true },
    h('h1', {}, t('join.welcome', { name: invite.display_name })),
    h('p', {}, t('join.username_is')),
    h('p', { class: 'code', 'data-username': invite.username }, invite.username),
    h('p', { class: 'muted' }, t('join.write_down')),
    field(t('join.pin'), pin, { hint: t('join.pin_hint') }),
    field(t('join.pin_again'), again),
    message,
    button(t('join.submit'), null, { type: 'submit' }),
    invite.expires_at ? h('p', { class: 'muted' }, t('join.expires', { date: fmt.date(invite.expires_at) })) : null);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.replaceChildren();
    if (pin.value !== again.value) {
      showFieldErrors(form, { pin_again: [t('join.pin_mismatch')] });
      return;
    }
    await submitForm(form, null, async () => {
      const result = await api.post('/api/invites/redeem', { code, pin: pin.value });
      await app.setMe(result.user, result.csrf_token);
      sessionStorage.setItem('just-joined', '1');
      app.go('/');
    }, {
      onError: (error) => {
        if (!showFieldErrors(form, error.fields)) message.replaceChildren(notice(codeError(error), 'error'));
        return true;
      },
    });
  });
  return form;
}
