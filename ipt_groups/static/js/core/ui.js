// A tiny DOM builder. Text always goes in as text nodes (never innerHTML), so
// names and notes typed by people cannot inject markup.
import { has, language, t } from './i18n.js';

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key === 'style') {
      // Through the CSSOM: a style *attribute* is inline style, which our CSP blocks.
      el.style.cssText = value;
    } else if (key === 'value' || key === 'checked' || key === 'selected' || key === 'disabled') {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : value);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// SVG elements need their namespace.
export function s(tag, props, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    el.setAttribute(key, value);
  }
  append(el, children);
  return el;
}

let idSeq = 0;

/**
 * A new element id, unique on the page ("f1", "trend2", ...). One counter for
 * the whole app, so two views can never hand out the same id.
 * @param {string} [prefix]
 * @returns {string}
 */
export function uid(prefix = 'f') {
  idSeq += 1;
  return `${prefix}${idSeq}`;
}

// A labelled form field: label, control, hint and the server's error under it.
export function field(label, control, { hint, error } = {}) {
  const id = control.id || uid('f');
  control.id = id;
  const described = [];
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) described.push(hintEl.id);
  const errorEl = h('p', { class: 'error', id: `${id}-error`, hidden: !error }, error || '');
  described.push(errorEl.id);
  control.setAttribute('aria-describedby', described.join(' '));
  return h('div', { class: 'field', dataset: { field: control.name || '' } },
    h('label', { for: id }, label), hintEl, control, errorEl);
}

// The server's field errors come nested the way marshmallow builds them
// ({"crisis_text": {"en": {"value": [...]}}}, {"ids": {"0": [...]}}); forms
// name their fields flat ("crisis_text.en"). "value"/"key" levels of a dict
// field fold into their parent.
export function flattenErrors(fields, prefix = '') {
  const out = {};
  for (const [name, value] of Object.entries(fields || {})) {
    const key = prefix && (name === 'value' || name === 'key') ? prefix : (prefix ? `${prefix}.${name}` : name);
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(flattenErrors(value, key))) out[k] = [...(out[k] || []), ...v];
    } else {
      out[key || '_schema'] = [...(out[key || '_schema'] || []), ...[].concat(value).map(fieldErrorText)];
    }
  }
  return out;
}

// The .field box for an error name, or for the nearest enclosing name
// ("supervisor_ids.0" -> "supervisor_ids").
function boxFor(form, name) {
  let key = name;
  for (;;) {
    const box = form.querySelector(`.field[data-field="${CSS.escape(key)}"]`);
    if (box || !key.includes('.')) return box;
    key = key.slice(0, key.lastIndexOf('.'));
  }
}

// Put the server's field errors next to their fields (clearing the last
// try's); returns true if any matched a field.
export function showFieldErrors(form, fields) {
  let matched = false;
  form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
  form.querySelectorAll('.field .error').forEach((p) => { p.hidden = true; p.textContent = ''; });
  for (const [name, messages] of Object.entries(flattenErrors(fields))) {
    const box = boxFor(form, name)?.querySelector('.error');
    if (box) {
      box.textContent = [box.textContent, ...messages].filter(Boolean).join(' ');
      box.hidden = false;
      box.previousElementSibling?.setAttribute('aria-invalid', 'true');
      matched = true;
    }
  }
  return matched;
}

// Messages no field on the form can show, for a notice under the form.
export function unmatchedErrors(form, fields) {
  return Object.entries(flattenErrors(fields))
    .filter(([name]) => !boxFor(form, name))
    .flatMap(([name, messages]) => messages.map((m) => (name === '_schema' ? m : `${name}: ${m}`)));
}

// errors.py's code for each status, for answers that carry none.
const STATUS_CODES = {
  400: 'bad_request', 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found',
  405: 'method_not_allowed', 409: 'conflict', 413: 'payload_too_large', 414: 'uri_too_long',
  415: 'unsupported_media_type', 422: 'validation_error', 429: 'too_many_requests',
  500: 'internal_error', 503: 'unavailable',
};

// Words for an API error (an ApiError, or an outbox entry's {status, code}):
// the catalog's error.<code>, else the generic words for its status, never the
// server's English message (a test keeps every code translated).
export function errorText(error) {
  if (!error) return '';
  if (error.offline) return t('common.offline_action');
  for (const code of [error.code, STATUS_CODES[error.status]]) {
    if (code && has(`error.${code}`)) return shown(t(`error.${code}`));
  }
  if (error.status >= 500) return shown(t('error.internal_error'));
  return t('common.error');
}

// Texts already in the app's language: flattening fields twice (views do)
// must not turn them into "check this field".
const translated = new Set();
function shown(text) {
  translated.add(text);
  return text;
}

// marshmallow's field messages, by kind (the first match wins).
const FIELD_KINDS = [
  [/^(Missing data for required field|Field may not be (null|blank))/, 'required'],
  [/^Not a valid email/, 'email'],
  [/^Not a valid (integer|number)/, 'number'],
  [/^Not a valid (date|datetime|time)/i, 'date'],
  [/^(Length must be|Shorter than|Longer than)/, 'length'],
  [/^Must be (greater|less|between|at least|at most)/, 'range'],
  [/^(Must be one of|Not a valid choice)/, 'choice'],
  [/^Unknown field/, 'unknown'],
  [/^(Not a valid|Invalid|String does not match)/, 'invalid'],
];

// A server field message in the app's language: its kind's words, else (the
// app's own specific messages are English) the English text in an English UI
// and a translated "check this field" in any other.
export function fieldErrorText(message) {
  const text = String(message);
  if (translated.has(text)) return text;
  const kind = FIELD_KINDS.find(([pattern]) => pattern.test(text));
  if (kind) return shown(t(`error.field.${kind[1]}`));
  return language() === 'en' ? text : shown(t('error.field.check'));
}

export function notice(text, kind = 'info') {
  return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

export function button(label, onclick, { kind = 'primary', type = 'button', ...rest } = {}) {
  return h('button', { class: `btn ${kind}`, type, onclick, ...rest }, label);
}

// A switch with a visible label: role=switch gives screen readers its name and state.
export function toggle(label, checked, onchange, { name } = {}) {
  const input = h('input', { type: 'checkbox', role: 'switch', name, checked, onchange: (e) => onchange(e.target.checked) });
  return h('label', { class: 'switch' }, input, h('span', {}, label));
}

export function loading() {
  return h('p', { class: 'loading', role: 'status' }, t('common.loading'));
}

export function staleNote(data) {
  return data && data.__stale ? notice(t('common.stale'), 'warn') : null;
}

// A screen's own stylesheet, added once when the screen is first shown, so a
// participant's phone never downloads the staff screens' styles.
export function stylesheet(name) {
  // Relative to this module, so the release's versioned (long-cached) path is used.
  const href = new URL(`../../css/${name}.css`, import.meta.url).pathname;
  if (!document.querySelector(`link[href="${href}"]`)) {
    document.head.append(h('link', { rel: 'stylesheet', href }));
  }
}

/**
 * Runs one write from a form or a button: disables `button` while `action`
 * runs, shows what went wrong, and enables it again.
 *
 * Why: every form did this by hand (disable, try, the error notice, enable),
 * and the copies drifted. Here it is once, so every form says an error the
 * same way: `notice(errorText(error), 'error')` in the form's message box. The
 * notice is role=alert, so a screen reader announces it without moving focus;
 * focus moves only to a field the server refused (`focusInvalid`), as the
 * admin forms always did.
 *
 * Writes that may wait for a signal keep going through api.send's `queue`
 * inside `action`: a queued write resolves (with `__queued`), so it is a
 * success here and the view says "saved offline" as before.
 *
 * @param {HTMLFormElement|null} form  the form whose first refused field gets focus
 * @param {HTMLButtonElement|null} button  disabled while the action runs (null: left alone)
 * @param {() => Promise<*>} action  the write and what follows a success
 * @param {object} [options]
 * @param {Element|((notice: Element) => void)} [options.message]  where the error notice goes:
 *   an element (its content is replaced), or a function that places it (after a row, at a form's end)
 * @param {(error: Error) => (boolean|void)} [options.onError]  shows the error its own way
 *   (field errors, a reload button...); returns true when nothing more is to be shown,
 *   else the usual notice follows
 * @param {boolean} [options.focusInvalid]  after an error, focus the form's first aria-invalid control
 * @returns {Promise<boolean>} whether the action succeeded
 */
export async function submitForm(form, button, action, { message, onError, focusInvalid = false } = {}) {
  if (button) button.disabled = true;
  try {
    await action();
    return true;
  } catch (error) {
    if (!(onError && onError(error)) && message) {
      const node = notice(errorText(error), 'error');
      if (typeof message === 'function') message(node);
      else message.replaceChildren(node);
    }
    if (focusInvalid) form?.querySelector('[aria-invalid="true"]')?.focus();
    return false;
  } finally {
    if (button) button.disabled = false;
  }
}

/**
 * Fills `container` with what `render` makes of `loader`'s answer, or with the
 * error notice when the load fails.
 *
 * Why: each panel that loads on open (a history, a list, a tab) repeated the
 * same try / notice / return. `render` runs outside the try on purpose: a bug
 * in drawing must surface as a bug, not as "could not load".
 *
 * @param {Element} container
 * @param {() => Promise<*>} loader  the request(s)
 * @param {(data: *) => (Node|Array|void|Promise)} render  the nodes to show (null entries skipped),
 *   or undefined when it drew `container` itself; may be async
 * @param {object} [options]
 * @param {string} [options.kind]  the notice kind for a failed load ('error'; 'warn' for optional parts)
 * @param {boolean} [options.spinner]  show loading() in `container` while waiting
 * @returns {Promise<boolean>} whether it loaded
 */
export async function loadInto(container, loader, render, { kind = 'error', spinner = false } = {}) {
  if (spinner) container.replaceChildren(loading());
  let data;
  try {
    data = await loader();
  } catch (error) {
    container.replaceChildren(notice(errorText(error), kind));
    return false;
  }
  const nodes = await render(data);
  if (nodes !== undefined) container.replaceChildren(...[nodes].flat().filter((n) => n != null && n !== false));
  return true;
}
