/* The service worker: app shell offline, push notifications, Background Sync.
 *
 * Served from /sw.js (scope: the whole app) with Cache-Control: no-cache; the
 * server fills in VERSION (a hash of the static files), STATIC (this release's
 * /static/<version> prefix) and PRECACHE (the participant's and the staff's
 * files, versioned, each with a hash of its bytes), so every release installs
 * a fresh cache, fetching only the files whose hash changed. The API is never cached
 * here: the page keeps the last answers it saw in IndexedDB, per user, and
 * clears them at logout.
 */
/* global IptOutbox */
importScripts('__STATIC__/js/outbox-core.js');

const VERSION = '__VERSION__';
const STATIC = '__STATIC__';
// {participant: [[url, hash], ...], staff: [...]}: see ipt_groups/precache.py.
const PRECACHE = __PRECACHE__;
const CACHE = `shell-${VERSION}`;
// A made-up entry in each shell cache: what it holds, {files: {path: [hash, url]}, staff}.
const INDEX = '/__precache-index__';

// A URL without its release prefix: the same file in every release's cache.
const pathOf = (url) => url.replace(/^\/static\/[0-9a-f]{16}\//, '/static/');

async function readIndex(cache) {
  const hit = await cache.match(INDEX);
  return hit ? hit.json() : { files: {}, staff: false };
}

// Put the entries into this release's cache: a file whose hash is already in
// it is skipped, one with the same hash in an older release's cache is copied
// from there (no request at all), only new or changed files are fetched. The
// fetches go through the HTTP cache (the page has just loaded some of these
// immutable URLs) and get the gzip copies like any browser request.
async function topUp(entries, { staff = false } = {}) {
  const cache = await caches.open(CACHE);
  const index = await readIndex(cache);
  const older = [];
  for (const name of await caches.keys()) {
    if (name.startsWith('shell-') && name !== CACHE) {
      const oldCache = await caches.open(name);
      older.push({ cache: oldCache, index: await readIndex(oldCache) });
    }
  }
  await Promise.all(entries.map(async ([url, hash]) => {
    const path = pathOf(url);
    if (index.files[path] && index.files[path][0] === hash) return;
    let response = null;
    for (const old of older) {
      const had = old.index.files[path];
      if (had && had[0] === hash) response = await old.cache.match(had[1]);
      if (response) break;
    }
    if (!response) {
      response = await fetch(url);
      if (!response.ok) throw new Error(`precache ${url}: ${response.status}`);
    }
    await cache.put(url, response);
    index.files[path] = [hash, url];
  }));
  index.staff = index.staff || staff;
  await cache.put(INDEX, new Response(JSON.stringify(index), { headers: { 'Content-Type': 'application/json' } }));
}

// One top-up at a time, so two never write the index over each other.
let queue = Promise.resolve();
const serially = (task) => { queue = queue.then(task, task); return queue; };

async function wasStaffDevice() {
  for (const name of await caches.keys()) {
    if (name.startsWith('shell-') && name !== CACHE && (await readIndex(await caches.open(name))).staff) return true;
  }
  return false;
}

self.addEventListener('install', (event) => {
  // The participant app for everyone; a device a staff member used keeps the
  // staff views across releases (without them the runner would not open offline).
  event.waitUntil(serially(async () => {
    await topUp(PRECACHE.participant);
    if (await wasStaffDevice()) await topUp(PRECACHE.staff, { staff: true });
  }));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    await queue.catch(() => {});
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith('shell-') && n !== CACHE)
      .map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

// The page asks a waiting worker to take over when the person taps "Update".
// After a staff login the page asks for the staff views ({type: 'precache',
// role: 'staff'}); a participant's phone never downloads them.
self.addEventListener('message', (event) => {
  if (event.data === 'skip-waiting') self.skipWaiting();
  if (event.data && event.data.type === 'precache' && event.data.role === 'staff') {
    event.waitUntil(serially(() => topUp(PRECACHE.staff, { staff: true })).then(() => {
      if (event.source) event.source.postMessage({ type: 'precached', role: 'staff' });
    }));
  }
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/')) return;  // always the network
  if (event.request.mode === 'navigate') {
    // The network first (a fresh index.html), the cached shell when offline.
    event.respondWith(fetch(event.request).catch(() => caches.match('/', { cacheName: CACHE })));
    return;
  }
  // /static/x and /static/<another release>/x (the i18n catalogs and view
  // styles, an older page) are this release's /static/<version>/x in the cache.
  const key = url.pathname.startsWith('/static/')
    ? url.pathname.replace(/^\/static\/(?:[0-9a-f]{16}\/)?/, `${STATIC}/`)
    : event.request;
  event.respondWith(
    caches.match(key, { cacheName: CACHE, ignoreSearch: true })
      .then((hit) => hit || fetch(event.request)),
  );
});

// Background Sync: send the offline queue even when no window is open.
self.addEventListener('sync', (event) => {
  if (event.tag === 'receipts') event.waitUntil(sendReceipts());
  if (event.tag !== 'outbox') return;
  event.waitUntil(IptOutbox.flush().then(async (result) => {
    const windows = await self.clients.matchAll({ type: 'window' });
    windows.forEach((w) => w.postMessage({ type: 'outbox-flushed', result }));
    if (result.stopped === 'offline' || result.stopped === 'server') {
      throw new Error('retry later');  // the browser retries the sync
    }
  }));
});

const FALLBACK = { title: 'Group sessions', body: 'You have a new message.' };

async function fallbackText() {
  try {
    return (await IptOutbox.kv.get('notification-fallback')) || FALLBACK;
  } catch {
    return FALLBACK;
  }
}

async function showPush(event) {
  let data;
  try {
    data = event.data ? event.data.json() : null;
  } catch {
    data = null;  // not JSON: the fallback text is shown
  }
  const fallback = await fallbackText();
  const ok = data && typeof data === 'object';
  const title = (ok && data.title) || fallback.title;
  const options = {
    body: (ok && data.body) || fallback.body,
    icon: `${STATIC}/icons/icon-192.png`,
    badge: `${STATIC}/icons/icon-192.png`,
    data: { url: (ok && typeof data.url === 'string' && data.url.startsWith('/')) ? data.url : '/#/' },
  };
  if (ok && data.tag) {
    // The same tag replaces an earlier notification for the same thing
    // (the 24-hour reminder gives way to the 1-hour one).
    options.tag = String(data.tag);
    options.renotify = true;
  }
  // Always show something: a push that shows nothing costs the site its
  // permission in some browsers.
  await self.registration.showNotification(title, options);
  if (ok && typeof data.receipt === 'string') await queueReceipt(data.receipt);
}

// "Shown" receipts: the payload's opaque token goes back to the server, so the
// facilitator sees "shown on the phone", not only "accepted for delivery".
// Kept in IndexedDB until the server has it (offline: the next push, Background
// Sync or start sends it). No cookies: the token alone is the credential, and
// a logged-out phone still reports.
const RECEIPTS = 'shown-receipts';
const MAX_RECEIPTS = 50;

async function queueReceipt(token) {
  await withReceipts(async () => {
    const waiting = (await IptOutbox.kv.get(RECEIPTS).catch(() => null)) || [];
    if (!waiting.includes(token)) waiting.push(token);
    await IptOutbox.kv.set(RECEIPTS, waiting.slice(-MAX_RECEIPTS));
  });
  await sendReceipts();
}

function withReceipts(fn) {
  const locks = self.navigator && self.navigator.locks;
  return locks ? locks.request('ipt-receipts', fn) : fn();
}

async function sendReceipts() {
  let retry = false;
  await withReceipts(async () => {
    const waiting = (await IptOutbox.kv.get(RECEIPTS).catch(() => null)) || [];
    const left = [];
    for (const token of waiting) {
      try {
        const res = await fetch('/api/push/shown', {
          method: 'POST', credentials: 'omit',
          headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }),
        });
        // 204 done; a 4xx other than 429 will never succeed: drop it.
        if (res.status === 429 || res.status >= 500) left.push(token);
      } catch {
        left.push(token);  // offline
      }
    }
    await IptOutbox.kv.set(RECEIPTS, left);
    retry = left.length > 0;
  });
  if (retry && self.registration.sync) {
    await self.registration.sync.register('receipts').catch(() => {});
  }
}

self.addEventListener('push', (event) => {
  event.waitUntil(showPush(event));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || '/#/',
    self.location.origin).href;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const w of windows) {
      if (new URL(w.url).origin === self.location.origin) {
        await w.focus();
        w.postMessage({ type: 'navigate', url: target });
        return;
      }
    }
    await self.clients.openWindow(target);
  })());
});
