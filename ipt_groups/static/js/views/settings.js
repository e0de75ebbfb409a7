// Settings for everyone, phone first: reminders on this device (push), my
// devices, which reminders I get and when, language and time zone, the
// calendar link (members), my password or PIN, and logging out.
import * as api from '../core/api.js';
import * as fmt from '../core/fmt.js';
import { LANGUAGES, t, use } from '../core/i18n.js';
import * as push from '../core/push.js';
import {
  button, errorText, field, h, loadInto, notice, showFieldErrors, staleNote, stylesheet, submitForm, toggle,
} from '../core/ui.js';

stylesheet('admin');

const KINDS = ['session_24h', 'session_1h', 'content_released', 'checkin_due'];

function flat(fields, prefix = '') {
  const out = {};
  for (const [name, value] of Object.entries(fields || {})) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (value && typeof value === 'object' && !Array.isArray(value)) Object.assign(out, flat(value, key));
    else out[key] = [].concat(value);
  }
  return out;
}

function section(id, title, ...children) {
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

// "Chrome on Android" from a User-Agent, enough to tell one's own devices apart.
function deviceName(ua) {
  if (!ua) return t('settings.devices.unknown');
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox'
    : /SamsungBrowser/.test(ua) ? 'Samsung Internet' : /Chrom(e|ium)\//.test(ua) ? 'Chrome'
      : /Safari\//.test(ua) ? 'Safari' : null;
  const os = /iPhone|iPad|iPod/.test(ua) ? 'iOS' : /Android/.test(ua) ? 'Android'
    : /Windows/.test(ua) ? 'Windows' : /Mac OS X/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : null;
  if (browser && os) return t('settings.devices.name', { browser, os });
  return browser || os || t('settings.devices.unknown');
}

const OUTCOMES = ['sent', 'gone', 'rejected', 'auth', 'throttled', 'retry', 'refused', 'skipped'];
const outcomeText = (code) => (OUTCOMES.includes(code) ? t(`settings.outcome.${code}`) : code);

async function currentSubscription() {
  if (!push.supported()) return null;
  try {
    const registration = await Promise.race([
      navigator.serviceWorker.ready,
      new Promise((resolve) => setTimeout(() => resolve(null), 1500)),
    ]);
    return registration ? await registration.pushManager.getSubscription() : null;
  } catch {
    return null;
  }
}

// -- reminders on this device ---------------------------------------------

async function deviceSection(refreshDevices) {
  const status = h('div', { 'aria-live': 'polite' });
  const result = h('div', { 'aria-live': 'polite' });
  const controls = h('div', { class: 'row' });
  const box = section('push-title', t('settings.push.title'),
    h('p', {}, t('settings.push.intro')), status, controls, result);

  const draw = async () => {
    const permission = push.permission();
    const subscribed = !!(await currentSubscription());
    const on = permission === 'granted' && subscribed;
    const parts = [];
    if (push.needsInstallFirst()) {
      parts.push(notice(t('settings.push.install_first'), 'warn'));
    } else if (!push.supported()) {
      parts.push(notice(t('settings.push.unsupported'), 'warn'));
    } else if (permission === 'denied') {
      parts.push(notice(t('settings.push.blocked'), 'warn'));
    } else {
      parts.push(h('p', {}, h('span', { class: `badge ${on ? 'ok' : 'warn'}` }, on ? t('settings.push.on') : t('settings.push.off')),
        ' ', on ? t('settings.push.on_text') : t('settings.push.off_text')));
    }
    status.replaceChildren(...parts);
    const buttons = [];
    if (push.supported() && !push.needsInstallFirst() && permission !== 'denied' && !on) {
      buttons.push(button(t('settings.push.enable'), enable));
    }
    if (on) buttons.push(button(t('settings.push.disable'), disable, { kind: 'secondary' }));
    buttons.push(button(t('settings.push.test'), test, { kind: on ? 'primary' : 'secondary' }));
    controls.replaceChildren(...buttons);
  };

  const busy = (flag) => controls.querySelectorAll('button').forEach((b) => { b.disabled = flag; });

  // Only ever from this tap: the browser asks for permission here.
  async function enable() {
    busy(true);
    result.replaceChildren(notice(t('settings.push.asking'), 'info'));
    await submitForm(null, null, async () => {
      const answer = await push.enable();
      if (answer === 'granted') result.replaceChildren(notice(t('settings.push.enabled'), 'ok'));
      else if (answer === 'denied') result.replaceChildren(notice(t('settings.push.blocked'), 'warn'));
      else if (answer === 'unsupported') result.replaceChildren(notice(t('settings.push.unsupported'), 'warn'));
      else result.replaceChildren(notice(t('settings.push.not_answered'), 'warn'));
    }, {
      onError: (error) => {
        // The browser's own push errors have no code: say its words.
        const why = error instanceof api.ApiError ? errorText(error) : (error && error.message) || String(error);
        result.replaceChildren(notice(t('settings.push.enable_failed', { why }), 'error'));
        return true;
      },
    });
    await draw();
    busy(false);
    refreshDevices();
  }

  async function disable() {
    busy(true);
    await submitForm(null, null, async () => {
      await push.disable();
      result.replaceChildren(notice(t('settings.push.disabled'), 'ok'));
    }, { message: result });
    await draw();
    busy(false);
    refreshDevices();
  }

  async function test() {
    busy(true);
    result.replaceChildren(notice(t('settings.push.testing'), 'info'));
    await submitForm(null, null, async () => {
      const answer = await api.post('/api/push/test');
      const lines = (answer.outcomes || []).map((o) => h('li', {},
        t('settings.push.outcome', { device: o.device_id ?? '-', outcome: outcomeText(o.outcome) })));
      const ok = answer.delivered > 0;
      result.replaceChildren(h('div', { class: `notice ${ok ? 'ok' : 'warn'}`, role: 'status' },
        h('p', {}, t('settings.push.test_result', { delivered: answer.delivered, devices: answer.devices })),
        ok ? h('p', {}, t('settings.push.test_look')) : null,
        lines.length ? h('ul', {}, lines) : null));
    }, {
      message: result,
      onError: (error) => {
        if (error.status !== 409) return false;
        result.replaceChildren(notice(t('settings.push.test_no_device'), 'warn'));
        return true;
      },
    });
    busy(false);
    refreshDevices();
  }

  await draw();
  return box;
}

// -- my devices -------------------------------------------------------------

function devicesSection() {
  const body = h('div', {});
  const box = section('devices-title', t('settings.devices.title'), h('p', {}, t('settings.devices.intro')), body);
  const load = () => loadInto(body, () => api.get('/api/push/subscriptions', { offline: true }), (rows) => {
    if (!rows.length) return [staleNote(rows), notice(t('settings.devices.none'), 'info')];
    return [staleNote(rows), h('ul', { class: 'list' }, rows.map((d) => {
      const message = h('div', { 'aria-live': 'polite' });
      return h('li', { dataset: { id: String(d.id) } },
        h('div', { class: 'spread' },
          h('strong', {}, deviceName(d.user_agent)),
          button(t('settings.devices.remove'), async (event) => {
            if (!confirm(t('settings.devices.remove_confirm'))) return;
            await submitForm(null, event.target, async () => {
              await api.del(`/api/push/subscriptions/${d.id}`);
              await load();
            }, { message });
          }, { kind: 'secondary small', 'aria-label': t('settings.devices.remove_named', { name: deviceName(d.user_agent) }) })),
        h('p', { class: 'muted' }, t('settings.devices.added', { when: fmt.date(d.created_at) }),
          ' · ', d.last_success_at ? t('settings.devices.last_ok', { when: fmt.relative(d.last_success_at) }) : t('settings.devices.never_ok')),
        d.last_failure ? h('p', { class: 'hint' }, t('settings.devices.last_failure', { why: outcomeText(d.last_failure) })) : null,
        message);
    }))];
  });
  load();
  return { box, load };
}

// -- what to be reminded about, quiet hours, language, time zone ------------

async function preferencesSection(app) {
  const prefs = await api.get('/api/me/notification-preferences', { offline: true });
  const participant = app.me.role === 'participant';
  const values = { ...prefs };
  const message = h('div', { 'aria-live': 'polite' });

  const toggles = participant
    ? h('fieldset', { class: 'plain' },
      h('legend', {}, t('settings.prefs.kinds')),
      KINDS.map((kind) => h('div', {},
        toggle(t(`settings.kind.${kind}`), !!prefs[kind], (checked) => { values[kind] = checked; }, { name: kind }))))
    : notice(t('settings.prefs.staff_kinds'), 'info');

  const quiet = !!prefs.quiet_hours;
  const start = h('input', { type: 'time', name: 'quiet_hours.start', value: prefs.quiet_hours?.start || '22:00', disabled: !quiet });
  const end = h('input', { type: 'time', name: 'quiet_hours.end', value: prefs.quiet_hours?.end || '07:00', disabled: !quiet });
  const quietToggle = toggle(t('settings.prefs.quiet_on'), quiet, (checked) => {
    start.disabled = !checked;
    end.disabled = !checked;
  }, { name: 'quiet' });
  // Staff only get notices that are never held back, so quiet hours do nothing for them.
  const quietBox = h('fieldset', { class: 'plain', hidden: !participant },
    h('legend', {}, t('settings.prefs.quiet')),
    h('p', { class: 'hint' }, t('settings.prefs.quiet_hint')),
    quietToggle,
    h('div', { class: 'row quiet-times' }, field(t('settings.prefs.quiet_start'), start), field(t('settings.prefs.quiet_end'), end)),
    h('p', { class: 'error quiet-error', hidden: true }));

  const language = h('select', { name: 'language' },
    LANGUAGES.map((l) => h('option', { value: l, selected: prefs.language === l }, t(`settings.lang.${l}`))));
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const zone = h('input', {
    name: 'time_zone', value: prefs.time_zone || '', list: 'tz-list', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', required: true,
  });
  const deviceZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

  const form = h('form', { novalidate: true, class: 'prefs' },
    staleNote(prefs),
    toggles,
    quietBox,
    field(t('settings.prefs.language'), language),
    field(t('settings.prefs.time_zone'), zone, { hint: t('settings.prefs.time_zone_hint', { zone: deviceZone }) }),
    zones.length ? h('datalist', { id: 'tz-list' }, zones.map((z) => h('option', { value: z }))) : null,
    deviceZone && deviceZone !== prefs.time_zone
      ? button(t('settings.prefs.use_device_zone', { zone: deviceZone }), () => { zone.value = deviceZone; }, { kind: 'quiet' })
      : null,
    message,
    button(t('settings.prefs.save'), null, { type: 'submit' }));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.replaceChildren();
    const quietError = quietBox.querySelector('p.quiet-error');
    quietError.hidden = true;
    const body = { language: language.value, time_zone: zone.value.trim() };
    if (participant) {
      KINDS.forEach((k) => { body[k] = !!values[k]; });
      body.quiet_hours = quietToggle.querySelector('input').checked ? { start: start.value, end: end.value } : null;
    }
    if (body.quiet_hours && (!start.value || !end.value || start.value === end.value)) {
      quietError.textContent = start.value === end.value && start.value ? t('settings.prefs.quiet_same') : t('settings.prefs.quiet_missing');
      quietError.hidden = false;
      return;
    }
    await submitForm(form, form.querySelector('button[type=submit]'), async () => {
      await api.put('/api/me/notification-preferences', body);
      const languageChanged = body.language !== app.me.language;
      const zoneChanged = body.time_zone !== app.me.time_zone;
      if (languageChanged || zoneChanged) {
        await app.setMe(await api.get('/api/me'));
        if (languageChanged) {
          // The page is drawn again in the new language; it says "saved" then.
          sessionStorage.setItem('settings-saved', '1');
          app.rerender();
          return;
        }
      }
      message.replaceChildren(notice(t('settings.prefs.saved'), 'ok'));
    }, {
      message,
      onError: (error) => {
        const fields = flat(error.fields);
        const quietMessages = Object.entries(fields).filter(([k]) => k.startsWith('quiet_hours') && !form.querySelector(`.field[data-field="${k}"]`)).flatMap(([, v]) => v);
        const matched = showFieldErrors(form, fields);
        if (quietMessages.length) {
          quietError.textContent = quietMessages.join(' ');
          quietError.hidden = false;
        }
        return matched || quietMessages.length > 0;
      },
    });
  });

  if (sessionStorage.getItem('settings-saved')) {
    sessionStorage.removeItem('settings-saved');
    message.replaceChildren(notice(t('settings.prefs.saved'), 'ok'));
  }

  return section('prefs-title', t('settings.prefs.title'), form);
}

// -- how I am reached: the channel order, my number and address, consent ----

const CHANNELS = ['push', 'sms', 'email'];

async function channelsSection(app) {
  const mine = await api.get('/api/me/channels');
  const participant = app.me.role === 'participant';
  const message = h('div', { 'aria-live': 'polite' });
  const offered = CHANNELS.filter((c) => mine.available[c]);
  // The order as a list of selects: first choice, then fallbacks ("none" ends it).
  const order = mine.channels.filter((c) => offered.includes(c));
  const picks = offered.map((_, i) => h('select', { name: `channel_${i}` },
    i > 0 ? h('option', { value: '' }, t('settings.channels.none')) : null,
    offered.map((c) => h('option', { value: c, selected: order[i] === c }, t(`settings.channels.${c}`)))));
  const phone = h('input', { type: 'tel', name: 'phone', value: mine.phone || '', autocomplete: 'tel', inputmode: 'tel' });
  const email = h('input', { type: 'email', name: 'email', value: mine.email || '', autocomplete: 'email', disabled: !participant });
  const consent = { sms: mine.sms_consent, email: mine.email_consent };
  const form = h('form', { novalidate: true, class: 'channels' },
    h('p', { class: 'hint' }, t('settings.channels.intro')),
    h('fieldset', { class: 'plain' }, h('legend', {}, t('settings.channels.order')),
      picks.map((select, i) => field(t(i === 0 ? 'settings.channels.first' : 'settings.channels.then'), select))),
    mine.available.sms ? field(t('settings.channels.phone'), phone, { hint: t('settings.channels.phone_hint') }) : null,
    mine.available.email ? field(t('settings.channels.email'), email) : null,
    participant && mine.available.sms
      ? toggle(t('settings.channels.sms_consent'), consent.sms, (v) => { consent.sms = v; }, { name: 'sms_consent' }) : null,
    participant && mine.available.email
      ? toggle(t('settings.channels.email_consent'), consent.email, (v) => { consent.email = v; }, { name: 'email_consent' }) : null,
    mine.sms_opted_out ? notice(t('settings.channels.opted_out'), 'info') : null,
    message,
    button(t('settings.channels.save'), null, { type: 'submit' }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.replaceChildren();
    const chosen = [...new Set(picks.map((p) => p.value).filter(Boolean))];
    const body = { channels: chosen };
    if (mine.available.sms) body.phone = phone.value.trim() || null;
    if (participant && mine.available.email) body.email = email.value.trim() || null;
    if (participant && mine.available.sms) body.sms_consent = consent.sms;
    if (participant && mine.available.email) body.email_consent = consent.email;
    await submitForm(form, form.querySelector('button[type=submit]'), async () => {
      const saved = await api.put('/api/me/channels', body);
      phone.value = saved.phone || '';
      message.replaceChildren(notice(t('settings.channels.saved'), 'ok'));
    }, { message, onError: (error) => showFieldErrors(form, flat(error.fields)) });
  });
  return section('channels-title', t('settings.channels.title'), form);
}

// -- calendar feed (members) ----------------------------------------------

async function calendarSection() {
  const body = h('div', { class: 'stack' });
  const box = section('cal-title', t('settings.cal.title'), h('p', {}, t('settings.cal.intro')), body);

  const showUrl = (url) => {
    const webcal = url.replace(/^https?:\/\//, 'webcal://');
    const input = h('input', { name: 'feed_url', value: url, readonly: true, onfocus: (e) => e.target.select() });
    const copied = h('span', { role: 'status', class: 'muted' });
    return h('div', { class: 'stack' },
      notice(t('settings.cal.once'), 'warn'),
      field(t('settings.cal.url'), input),
      h('div', { class: 'row' },
        h('a', { class: 'btn', href: webcal }, t('settings.cal.add')),
        button(t('settings.cal.copy'), async () => {
          try {
            await navigator.clipboard.writeText(url);
            copied.textContent = t('settings.cal.copied');
          } catch {
            input.focus();
            input.select();
            copied.textContent = t('settings.cal.copy_manual');
          }
        }, { kind: 'secondary' }),
        copied));
  };

  // A feed just made (its URL shown once) or, without one, the feed as it is now.
  const draw = (created, said) => loadInto(body, async () => created || api.get('/api/me/calendar-feed'), (feed) => {
    const message = h('div', { 'aria-live': 'polite' }, said ? notice(said, 'ok') : null);
    const act = (fn, question) => async (event) => {
      if (question && !confirm(question)) return;
      await submitForm(null, event.target, fn, { message });
    };
    const create = act(async () => draw(await api.post('/api/me/calendar-feed')));
    const replace = act(async () => draw(await api.post('/api/me/calendar-feed')), t('settings.cal.replace_confirm'));
    const revoke = act(async () => {
      await api.del('/api/me/calendar-feed');
      await draw(null, t('settings.cal.turned_off'));
    }, t('settings.cal.off_confirm'));
    if (!feed.active) return [h('p', {}, t('settings.cal.none')), button(t('settings.cal.create'), create), message];
    return [
      feed.url ? showUrl(feed.url) : h('p', {}, t('settings.cal.active', { when: fmt.date(feed.created_at) })),
      feed.url ? null : h('p', { class: 'muted' }, feed.last_used_at
        ? t('settings.cal.last_used', { when: fmt.relative(feed.last_used_at) }) : t('settings.cal.never_used')),
      h('div', { class: 'row' },
        feed.url ? null : button(t('settings.cal.replace'), replace, { kind: 'secondary' }),
        button(t('settings.cal.off'), revoke, { kind: 'danger' })),
      message];
  });
  await draw();
  return box;
}

// -- password or PIN -------------------------------------------------------

function passwordSection(app) {
  const participant = app.me.role === 'participant';
  const current = h('input', { type: 'password', name: 'current_password', autocomplete: 'current-password', required: true });
  const next = h('input', { type: 'password', name: 'new_password', autocomplete: 'new-password', required: true });
  const again = h('input', { type: 'password', name: 'again', autocomplete: 'new-password', required: true });
  const message = h('div', { 'aria-live': 'polite' });
  const form = h('form', { novalidate: true },
    h('input', { type: 'text', name: 'username', autocomplete: 'username', value: app.me.email || app.me.username || '', hidden: true, readonly: true, tabindex: '-1', 'aria-hidden': 'true' }),
    field(participant ? t('settings.pw.current_pin') : t('settings.pw.current'), current),
    field(participant ? t('settings.pw.new_pin') : t('settings.pw.new'), next,
      { hint: participant ? t('settings.pw.pin_rule') : t('settings.pw.rule') }),
    field(t('settings.pw.again'), again),
    message,
    button(participant ? t('settings.pw.submit_pin') : t('settings.pw.submit'), null, { type: 'submit' }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.replaceChildren();
    showFieldErrors(form, {});
    const missing = {};
    if (!current.value) missing.current_password = [t('settings.pw.required')];
    if (!next.value) missing.new_password = [t('settings.pw.required')];
    else if (next.value !== again.value) missing.again = [t('settings.pw.mismatch')];
    if (Object.keys(missing).length) {
      showFieldErrors(form, missing);
      return;
    }
    await submitForm(form, form.querySelector('button[type=submit]'), async () => {
      await api.post('/api/me/password', { current_password: current.value, new_password: next.value });
      form.reset();
      message.replaceChildren(notice(t('settings.pw.done'), 'ok'));
    }, {
      message,
      onError: (error) => {
        // Staff password rules come back named "password": they are about the new one.
        const fields = { ...(error.fields || {}) };
        if (fields.password && !fields.new_password) { fields.new_password = fields.password; delete fields.password; }
        return Boolean(error.fields && showFieldErrors(form, fields));
      },
    });
  });
  return section('pw-title', participant ? t('settings.pw.title_pin') : t('settings.pw.title'), form);
}

export default async function settings({ app }) {
  await use('settings');
  const me = app.me;
  const devices = devicesSection();
  const [pushBox, channelsBox, prefsBox, calendarBox] = await Promise.all([
    deviceSection(() => devices.load()),
    channelsSection(app).catch((error) => section('channels-title', t('settings.channels.title'), notice(errorText(error), 'error'))),
    preferencesSection(app).catch((error) => section('prefs-title', t('settings.prefs.title'), notice(errorText(error), 'error'))),
    me.role === 'participant'
      ? calendarSection().catch((error) => section('cal-title', t('settings.cal.title'), notice(errorText(error), 'error')))
      : null,
  ]);
  return h('div', { class: 'settings' },
    h('div', { class: 'card' },
      h('h1', {}, t('settings.title')),
      h('p', { class: 'muted' }, t('settings.signed_in_as', { name: me.display_name })),
      button(t('settings.logout_jump'), () => {
        const target = document.getElementById('logout-title');
        target.scrollIntoView({ block: 'start' });
        target.parentElement.querySelector('button').focus({ preventScroll: true });
      }, { kind: 'quiet' })),
    pushBox,
    devices.box,
    channelsBox,
    prefsBox,
    calendarBox,
    passwordSection(app),
    h('section', { class: 'card', id: 'logout', 'aria-labelledby': 'logout-title' },
      h('h2', { id: 'logout-title' }, t('settings.logout_title')),
      h('p', {}, t('settings.logout_text')),
      button(t('settings.logout'), async (event) => {
        event.target.disabled = true;
        await app.logout();
      }, { kind: 'danger' })));
}
