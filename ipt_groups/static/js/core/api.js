// The API client: JSON in and out, the CSRF token on writes, one error shape.
//
// get(path, {offline: true}) keeps the answer in IndexedDB per user and hands
// it back (marked __stale) when the network is gone. send(..., {queue}) puts a
// write in the outbox when it cannot be sent now; the outbox sends it later
// with an Idempotency-Key, so it is applied exactly once.
const store = self.IptOutbox;

export class ApiError extends Error {
  constructor(status, body, { offline = false } = {}) {
    const err = (body && body.error) || {};
    super(err.message || (offline ? 'offline' : `HTTP ${status}`));
    this.status = status;
    this.code = err.code || (offline ? 'offline' : null);
    this.fields = err.fields || null;
    this.offline = offline;
  }
}

const state = { csrf: null, userId: null, onUnauthorized: null, onQueued: null };

export function configure(options) {
  Object.assign(state, options);
}

export function setCsrf(token) {
  state.csrf = token;
}

export function setUser(id) {
  state.userId = id;
}

async function csrf() {
  if (!state.csrf) {
    const res = await fetch('/api/auth/csrf', { credentials: 'same-origin' });
    if (res.ok) state.csrf = (await res.json()).csrf_token;
  }
  return state.csrf;
}

async function raw(method, path, body, headers = {}, retried = false) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json', ...headers } };
  if (body !== undefined && method !== 'GET') {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    // The CSRF fetch fails offline too: the same offline error, never the
    // browser's own words ("Failed to fetch").
    if (method !== 'GET') init.headers['X-CSRF-Token'] = (await csrf()) || '';
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, null, { offline: true });
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    if (res.status === 403 && data?.error?.code === 'csrf_failed' && !retried) {
      state.csrf = null;  // the session changed (login elsewhere, renewal): fetch again
      return raw(method, path, body, headers, true);
    }
    const error = new ApiError(res.status, data);
    if (res.status === 401 && state.onUnauthorized) state.onUnauthorized(error, path);
    throw error;
  }
  return data;
}

export async function get(path, { offline = false } = {}) {
  try {
    const data = await raw('GET', path);
    if (offline && state.userId) store.cache.set(state.userId, path, data).catch(() => {});
    return data;
  } catch (error) {
    if (offline && error.offline && state.userId) {
      const cached = await store.cache.get(state.userId, path).catch(() => undefined);
      if (cached !== undefined) {
        return Array.isArray(cached) ? Object.assign([...cached], { __stale: true }) : { ...cached, __stale: true };
      }
    }
    throw error;
  }
}

// Keep an answer fetched one way for reading later under another path.
export async function remember(path, data) {
  if (state.userId) await store.cache.set(state.userId, path, data);
}

export async function send(method, path, body, { queue } = {}) {
  if (queue) {
    // Writes that may be made offline always go through the outbox, in order:
    // a later write must never overtake an earlier one still waiting.
    // The key is chosen before the first try: if the answer is lost on the
    // way back, the queued retry carries the same key and is not applied twice.
    const key = `w-${crypto.randomUUID()}`;
    const waiting = (await store.outbox.list()).some((e) => e.state === 'waiting');
    if (waiting || !navigator.onLine) return enqueue(key, method, path, body, queue);
    try {
      return await raw(method, path, body, { 'Idempotency-Key': key });
    } catch (error) {
      if (error.offline || error.status >= 500) return enqueue(key, method, path, body, queue);
      throw error;
    }
  }
  return raw(method, path, body);
}

async function enqueue(key, method, path, body, label) {
  const entry = await store.outbox.add({ key, method, path, body, label, userId: state.userId });
  if (state.onQueued) state.onQueued(entry);
  return { __queued: true, key: entry.key };
}

export const post = (path, body, opts) => send('POST', path, body ?? {}, opts);
export const put = (path, body, opts) => send('PUT', path, body, opts);
export const patch = (path, body, opts) => send('PATCH', path, body, opts);
export const del = (path, body, opts) => send('DELETE', path, body, opts);
