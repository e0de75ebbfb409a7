/* The offline store, shared by the page and the service worker.
 *
 * A classic script (not a module) on purpose: the service worker loads it with
 * importScripts() so Background Sync can send the queue while the app is
 * closed, and the page loads it with a plain <script>. One implementation, two
 * callers.
 *
 * IndexedDB "ipt-groups":
 *   outbox  writes made while offline, sent in order with an Idempotency-Key
 *           (the entry's key), so a write sent twice is applied once;
 *   cache   the last answer seen for each GET, per user, for reading offline;
 *   kv      small settings (who is logged in, the fallback notification text).
 */
(function (global) {
  'use strict';

  const DB_NAME = 'ipt-groups';
  const DB_VERSION = 1;
  let opening = null;

  function open() {
    if (!opening) {
      opening = new Promise((resolve, reject) => {
        const req = indexedDB.open(DB_NAME, DB_VERSION);
        req.onupgradeneeded = () => {
          const db = req.result;
          const outbox = db.createObjectStore('outbox', { keyPath: 'key' });
          outbox.createIndex('seq', 'seq');
          db.createObjectStore('cache', { keyPath: 'k' });
          db.createObjectStore('kv');
        };
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => { opening = null; reject(req.error); };
      });
    }
    return opening;
  }

  async function tx(store, mode, fn) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const t = db.transaction(store, mode);
      const s = t.objectStore(store);
      let result;
      Promise.resolve(fn(s)).then((r) => { result = r; });
      t.oncomplete = () => resolve(result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  }

  function request(req) {
    return new Promise((resolve, reject) => {
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  const kv = {
    get: (key) => tx('kv', 'readonly', (s) => request(s.get(key))),
    set: (key, value) => tx('kv', 'readwrite', (s) => { s.put(value, key); }),
    del: (key) => tx('kv', 'readwrite', (s) => { s.delete(key); }),
  };

  const cache = {
    get: (userId, path) => tx('cache', 'readonly', (s) => request(s.get(`${userId}|${path}`)))
      .then((row) => (row ? row.v : undefined)),
    set: (userId, path, value) => tx('cache', 'readwrite', (s) => {
      s.put({ k: `${userId}|${path}`, v: value, at: Date.now() });
    }),
    clear: () => tx('cache', 'readwrite', (s) => { s.clear(); }),
  };

  function newKey() {
    // crypto.randomUUID needs a secure context, which the app always has.
    return 'w-' + global.crypto.randomUUID();
  }

  const outbox = {
    async add({ key, method, path, body, label, userId }) {
      const entry = {
        key: key || newKey(), seq: Date.now() + Math.random() / 1000, method, path,
        body: body === undefined ? null : body, label: label || '', userId,
        state: 'waiting', error: null, createdAt: new Date().toISOString(),
      };
      await tx('outbox', 'readwrite', (s) => { s.put(entry); });
      return entry;
    },
    list: () => tx('outbox', 'readonly', (s) => request(s.index('seq').getAll())),
    get: (key) => tx('outbox', 'readonly', (s) => request(s.get(key))),
    remove: (key) => tx('outbox', 'readwrite', (s) => { s.delete(key); }),
    put: (entry) => tx('outbox', 'readwrite', (s) => { s.put(entry); }),
    clear: () => tx('outbox', 'readwrite', (s) => { s.clear(); }),
  };

  async function csrfToken() {
    const res = await fetch('/api/auth/csrf', { credentials: 'same-origin' });
    if (!res.ok) return null;
    return (await res.json()).csrf_token;
  }

  function send(entry, csrf) {
    const headers = { 'Idempotency-Key': entry.key, 'X-CSRF-Token': csrf || '' };
    const init = { method: entry.method, credentials: 'same-origin', headers };
    if (entry.body !== null) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(entry.body);
    }
    return fetch(entry.path, init);
  }

  let flushing = null;

  /* Send waiting entries oldest first. Stops at the first network failure,
   * server error or expired login (they are retried later, in order); a write
   * the server refuses (4xx) is kept as "refused" for the person to see.
   *
   * The page and the service worker (Background Sync) both flush on
   * reconnecting; they share one outbox, so they share one Web Lock too: the
   * second waits for the first and then finds nothing left to send. (The
   * in-memory promise only joins callers within one scope.) */
  function flush() {
    if (!flushing) {
      flushing = locked(doFlush).finally(() => { flushing = null; });
    }
    return flushing;
  }

  const LOCK = 'ipt-outbox';

  function locked(fn) {
    const locks = global.navigator && global.navigator.locks;
    if (!locks) return fn();  // no Web Locks: within this scope only
    return locks.request(LOCK, () => fn());
  }

  async function doFlush() {
    const result = { sent: 0, refused: 0, stopped: null };
    // Read inside the lock: entries another flusher has sent are gone.
    const entries = (await outbox.list()).filter((e) => e.state === 'waiting');
    if (!entries.length) return result;
    let csrf;
    try {
      csrf = await csrfToken();
    } catch {
      result.stopped = 'offline';
      return result;
    }
    if (!csrf) { result.stopped = 'login'; return result; }
    for (const entry of entries) {
      const current = await outbox.get(entry.key);  // discarded meanwhile?
      if (!current || current.state !== 'waiting') continue;
      let res;
      try {
        res = await send(entry, csrf);
        if (res.status === 403) {
          csrf = await csrfToken();  // the session may have been renewed
          res = await send(entry, csrf);
        }
      } catch {
        result.stopped = 'offline';
        break;
      }
      let error = null;
      if (!res.ok) {
        try { error = (await res.json()).error; } catch { error = null; }
      }
      const code = error && error.code;
      if (res.ok || code === 'idempotency_already_applied') {
        await outbox.remove(entry.key);
        result.sent += 1;
      } else if (res.status === 401) {
        result.stopped = 'login';
        break;
      } else if (res.status >= 500 || res.status === 429 || code === 'idempotency_in_progress') {
        result.stopped = 'server';
        break;
      } else {
        entry.state = 'refused';
        entry.error = { status: res.status, code, message: error && error.message,
          fields: error && error.fields };
        await outbox.put(entry);
        result.refused += 1;
      }
    }
    return result;
  }

  global.IptOutbox = { open, kv, cache, outbox, flush };
})(self);
