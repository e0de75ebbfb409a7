// The app shell: who is logged in, the hash router, the navigation, and the
// offline indicator. Views are ES modules loaded when first visited, so a
// participant's phone never downloads the facilitator's screens.
import * as api from './core/api.js';
import { setZone } from './core/fmt.js';
import { language, pickLanguage, setLanguage, t, tn, use } from './core/i18n.js';
import * as push from './core/push.js';
import { errorText, h } from './core/ui.js';

const store = self.IptOutbox;
const STAFF = ['facilitator', 'supervisor', 'admin'];

// Path pattern -> [module, who may see it]. "public" needs no login.
const ROUTES = [
  ['/login', 'login', 'public'],
  ['/join', 'join', 'public'],
  ['/join/:code', 'join', 'public'],
  ['/', 'home', 'participant'],
  ['/sessions/:id', 'session', 'participant'],
  ['/readings', 'readings', 'participant'],
  ['/readings/:key', 'reading', 'participant'],
  ['/check-in', 'checkin', 'participant'],
  ['/safety-plan', 'safety-plan', 'participant'],
  ['/', 'cohorts', 'staff'],
  ['/cohorts/new', 'cohort-new', 'staff'],
  ['/cohorts/:id', 'cohort', 'staff'],
  ['/cohorts/:id/outcomes', 'outcomes', 'staff'],
  ['/sessions/:id', 'runner', 'staff'],
  ['/alerts', 'alerts', 'staff'],
  ['/programme', 'programme', 'staff'],
  ['/members/:id/safety-plan', 'safety-plan-edit', 'staff'],
  ['/supervision', 'supervision', 'staff'],
  ['/supervision/:id', 'supervision', 'staff'],
  ['/admin/users', 'admin-users', 'admin'],
  ['/admin/programmes', 'admin-programmes', 'admin'],
  ['/admin/settings', 'admin-settings', 'admin'],
  ['/settings', 'settings', 'any'],
  ['/outbox', 'outbox', 'any'],
];

export const app = {
  me: null,
  go(path) {
    if (location.hash === `#${path}`) render();
    else location.hash = `#${path}`;
  },
  rerender: () => render(),
  async setMe(user, csrf) {
    app.me = user;
    api.setUser(user ? user.id : null);
    if (csrf) api.setCsrf(csrf);
    if (user) {
      await store.kv.set('me', user);
      setZone(user.time_zone);
      await setLanguage(pickLanguage(user.language));
    } else {
      await store.kv.del('me');
    }
    await fallbackNotificationText();
    drawNav();
    // A new login on this device: re-send its subscription for this person.
    if (user && push.permission() === 'granted') push.sync().catch(() => {});
    if (user && STAFF.includes(user.role)) precacheStaffViews();
  },
  async logout() {
    await push.disable().catch(() => {});
    await api.post('/api/auth/logout').catch(() => {});
    // Nothing personal stays on a shared device; unsent changes are kept only
    // if there are any (the next login of the same person sends them).
    await store.cache.clear();
    await app.setMe(null);
    app.go('/login');
  },
};

function allowed(who, me) {
  if (who === 'public') return true;
  if (!me) return false;
  if (who === 'any') return true;
  if (who === 'staff') return STAFF.includes(me.role);
  if (who === 'admin') return me.role === 'admin';
  return me.role === who;
}

function match(path, me) {
  for (const [pattern, module, who] of ROUTES) {
    const names = [];
    const re = new RegExp('^' + pattern.replace(/:(\w+)/g, (_, n) => { names.push(n); return '([^/]+)'; }) + '$');
    const m = path.match(re);
    if (!m) continue;
    if (!allowed(who, me) && who !== 'public') {
      if (!me) return { redirect: '/login' };
      continue;  // the other role's screen at the same path may fit
    }
    const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
    return { module, params };
  }
  return { module: 'not-found', params: {} };
}

const main = () => document.getElementById('main');
let renderSeq = 0;

async function render() {
  const hash = location.hash || '#/';
  if (!hash.startsWith('#/')) return;  // an in-page anchor (the skip link)
  const path = hash.slice(1).split('?')[0];
  const found = match(path, app.me);
  if (found.redirect) {
    sessionStorage.setItem('after-login', path);
    app.go(found.redirect);
    return;
  }
  const seq = ++renderSeq;
  try {
    const view = await import(`./views/${found.module}.js`);
    const node = await view.default({ params: found.params, app, path });
    if (seq !== renderSeq) return;  // a newer navigation won
    main().replaceChildren(node);
  } catch (error) {
    if (seq !== renderSeq) return;
    if (error.status === 401) return;  // onUnauthorized already moved to login
    main().replaceChildren(h('section', { class: 'card' },
      h('h1', {}, t('common.error_title')),
      h('p', {}, error.offline ? t('common.offline_nothing_cached') : errorText(error))));
  }
  drawNav(path);
  const heading = main().querySelector('h1');
  document.title = heading ? `${heading.textContent} · ${t('app.name')}` : t('app.name');
  if (document.activeElement === document.body || !main().contains(document.activeElement)) {
    main().focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
}

function drawNav(path = (location.hash || '#/').slice(1)) {
  const nav = document.getElementById('nav');
  const me = app.me;
  document.getElementById('brand').textContent = t('app.name');
  document.querySelector('.skip').textContent = t('common.skip');
  if (!me) {
    nav.replaceChildren();
    return;
  }
  const links = me.role === 'participant'
    ? [['/', t('nav.home')], ['/readings', t('nav.readings')], ['/settings', t('nav.settings')]]
    : [['/', t('nav.cohorts')], ['/alerts', t('nav.alerts')], ['/settings', t('nav.settings')]];
  if (me.role === 'supervisor' || me.role === 'admin') links.splice(2, 0, ['/supervision', t('nav.supervision')]);
  // The programme page is for those who answer for the programme (the API also serves facilitators).
  if (me.role === 'supervisor' || me.role === 'admin') links.splice(1, 0, ['/programme', t('nav.programme')]);
  if (me.role === 'admin') links.splice(2, 0, ['/admin/users', t('nav.admin')]);
  nav.replaceChildren(h('ul', {}, links.map(([href, label]) => h('li', {},
    h('a', { href: `#${href}`, 'aria-current': (href === '/' ? path === '/' : path.startsWith(href)) ? 'page' : null }, label)))));
}

// The line under the bar: offline, changes waiting, changes refused.
export async function drawStatus() {
  const box = document.getElementById('status');
  const entries = await store.outbox.list().catch(() => []);
  const waiting = entries.filter((e) => e.state === 'waiting').length;
  const refused = entries.filter((e) => e.state === 'refused').length;
  const offline = !navigator.onLine;
  const parts = [];
  if (offline) parts.push(t('status.offline'));
  if (waiting) parts.push(tn('status.waiting', waiting));
  if (refused) parts.push(tn('status.refused', refused));
  box.hidden = parts.length === 0;
  box.className = `status${offline ? ' offline' : ''}${refused ? ' refused' : ''}`;
  box.dataset.waiting = String(waiting);
  box.replaceChildren(h('span', {}, parts.join(' · ')));
  if (waiting || refused) box.append(h('a', { href: '#/outbox' }, t('status.details')));
}

export async function flushOutbox() {
  if (!app.me) return;
  const result = await store.flush().catch(() => null);
  await drawStatus();
  if (result && result.stopped === 'login') app.go('/login');
  if (result && (result.sent || result.refused)) {
    window.dispatchEvent(new CustomEvent('outbox-flushed', { detail: result }));
  }
}

async function requestBackgroundSync() {
  try {
    const registration = await navigator.serviceWorker.ready;
    if (registration.sync) await registration.sync.register('outbox');
  } catch {
    // No Background Sync (Firefox, Safari): the online event and the next start send it.
  }
}

// The service worker precaches the participant app only; staff screens are
// topped up here, once a staff member is logged in on this device.
function precacheStaffViews() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.ready
    .then((r) => r.active && r.active.postMessage({ type: 'precache', role: 'staff' }))
    .catch(() => {});
}

async function fallbackNotificationText() {
  // The service worker shows this if a push cannot be read: in the person's language.
  await store.kv.set('notification-fallback', { title: t('app.name'), body: t('push.fallback') }).catch(() => {});
}

function watchForUpdates(registration) {
  const offer = (worker) => {
    const box = h('div', { class: 'update', role: 'status' }, t('app.update_ready'), ' ',
      h('button', { class: 'btn small', type: 'button', onclick: () => worker.postMessage('skip-waiting') }, t('app.update_now')));
    document.body.append(box);
  };
  if (registration.waiting && navigator.serviceWorker.controller) offer(registration.waiting);
  registration.addEventListener('updatefound', () => {
    const worker = registration.installing;
    worker?.addEventListener('statechange', () => {
      if (worker.state === 'installed' && navigator.serviceWorker.controller) offer(worker);
    });
  });
  let reloaded = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (reloaded || !document.querySelector('.update')) return;
    reloaded = true;
    location.reload();
  });
}

async function start() {
  await use('common');
  api.configure({
    onUnauthorized: (_error, path) => {
      if (path === '/api/me' || !app.me) return;
      app.setMe(null).then(() => app.go('/login'));
    },
    onQueued: () => { drawStatus(); requestBackgroundSync(); },
  });
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js').then(watchForUpdates).catch(() => {});
    navigator.serviceWorker.addEventListener('message', (event) => {
      if (event.data?.type === 'outbox-flushed') { drawStatus(); }
      if (event.data?.type === 'navigate') location.href = event.data.url;
    });
  }
  // Who am I: the server when reachable, else the last answer on this device
  // (so the facilitator's tablet opens in a room with no signal).
  // A device nobody has logged in on goes straight to the login screen.
  let me = (await store.kv.get('me').catch(() => null)) || null;
  if (me) {
    try {
      me = await api.get('/api/me');
    } catch (error) {
      if (!error.offline) me = null;
    }
  }
  if (me) {
    await app.setMe(me);
  } else {
    await setLanguage(pickLanguage(null));
    drawNav();
  }
  window.addEventListener('hashchange', render);
  window.addEventListener('online', () => { drawStatus(); flushOutbox(); });
  window.addEventListener('offline', drawStatus);
  await render();
  await drawStatus();
  if (me && navigator.onLine) {
    flushOutbox();
    push.sync().catch(() => {});  // re-send the subscription on every start
  }
  document.documentElement.dataset.ready = language();
}

start();
