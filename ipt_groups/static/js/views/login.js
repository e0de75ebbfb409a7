// Log in: staff with their email, members with their username; PIN or password.
import * as api from '../core/api.js';
import { t } from '../core/i18n.js';
import { button, errorText, field, h, notice, submitForm } from '../core/ui.js';

export default async function login({ app }) {
  const name = h('input', { name: 'login', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const message = h('div', { 'aria-live': 'assertive' });
  const form = h('form', { class: 'card', novalidate: true },
    h('h1', {}, t('login.title')),
    field(t('login.name'), name, { hint: `${t('login.staff')}. ${t('login.member')}.` }),
    field(t('login.password'), password),
    message,
    button(t('login.submit'), null, { type: 'submit' }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = name.value.trim();
    const body = value.includes('@') ? { email: value, password: password.value } : { username: value, password: password.value };
    await submitForm(form, null, async () => {
      const result = await api.post('/api/auth/login', body);
      await app.setMe(result.user, result.csrf_token);
      const next = sessionStorage.getItem('after-login') || '/';
      sessionStorage.removeItem('after-login');
      app.go(next);
    }, {
      onError: (error) => {
        const text = error.status === 401 ? t('login.failed') : error.status === 429 ? t('login.too_many') : errorText(error);
        message.replaceChildren(notice(text, 'error'));
        password.select();
        return true;
      },
    });
  });
  return h('section', {}, form, h('p', {}, h('a', { href: '#/join' }, t('login.join_instead'))));
}
