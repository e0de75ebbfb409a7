// Clinic settings (admins): the crisis text per language and how soon an
// unacknowledged alert goes to admins; the wording of every notification (the
// server refuses clinical words and unknown placeholders, naming the field);
// and the clinic's closed dates.
import * as api from '../core/api.js';
import * as fmt from '../core/fmt.js';
import { LANGUAGES, t, use } from '../core/i18n.js';
import {
  button, errorText, field, flattenErrors, h, notice, showFieldErrors, staleNote, submitForm, unmatchedErrors,
} from '../core/ui.js';
import { adminNav } from './admin-nav.js';

const KIND_ORDER = ['session_24h', 'session_1h', 'checkin_due', 'content_released', 'risk_alert', 'risk_escalation', 'push_rejected', 'test'];

function failed(form, message, error, fields) {
  const matched = showFieldErrors(form, fields);
  const rest = unmatchedErrors(form, fields);
  if (rest.length) message.replaceChildren(notice(rest.join(' '), 'error'));
  else if (!matched) message.replaceChildren(notice(errorText(error), 'error'));
  else message.replaceChildren(notice(t('admin.set.fix_fields'), 'error'));
  form.querySelector('[aria-invalid="true"]')?.focus();
}

function clinicSection(current) {
  const texts = Object.fromEntries(LANGUAGES.map((l) => [l,
    h('textarea', { name: `crisis_text.${l}`, rows: '5', maxlength: '2000', minlength: '10', lang: l, value: current.crisis_text?.[l] || '' })]));
  const hours = h('input', { name: 'alert_escalation_hours', type: 'number', inputmode: 'numeric', min: '1', max: '168', value: String(current.alert_escalation_hours ?? 24) });
  const message = h('div', { 'aria-live': 'polite' });
  const form = h('form', { novalidate: true },
    staleNote(current),
    LANGUAGES.map((l) => field(t('admin.set.crisis_for', { language: t(`admin.lang.${l}`) }), texts[l], { hint: t('admin.set.crisis_hint') })),
    field(t('admin.set.escalation'), hours, { hint: t('admin.set.escalation_hint') }),
    message,
    button(t('admin.set.save'), null, { type: 'submit' }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.replaceChildren();
    const body = {
      crisis_text: Object.fromEntries(LANGUAGES.map((l) => [l, texts[l].value.trim()])),
      alert_escalation_hours: Number(hours.value),
    };
    await submitForm(form, form.querySelector('button[type=submit]'), async () => {
      await api.patch('/api/clinic/settings', body);
      showFieldErrors(form, {});
      message.replaceChildren(notice(t('admin.set.saved'), 'ok'));
    }, { onError: (error) => failed(form, message, error, flattenErrors(error.fields)) });
  });
  return h('section', { class: 'card', 'aria-labelledby': 'clinic-title' },
    h('h2', { id: 'clinic-title' }, t('admin.set.clinic_title')), form);
}

function templatesSection(data) {
  const templates = data.templates || {};
  const langs = LANGUAGES.filter((l) => templates[l]);
  const kinds = [...KIND_ORDER.filter((k) => templates.en?.[k]), ...Object.keys(templates.en || {}).filter((k) => !KIND_ORDER.includes(k))];
  const inputs = {};
  let selected = langs[0];
  const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': t('admin.set.tpl_language') });
  const panels = {};
  const markTabs = (fields) => tabs.querySelectorAll('button').forEach((b) => {
    const bad = Object.keys(fields).some((k) => k.startsWith(`${b.dataset.lang}.`));
    b.replaceChildren(t(`admin.lang.${b.dataset.lang}`), ...(bad ? [h('span', { class: 'badge danger tab-flag' }, t('admin.set.tab_errors'))] : []));
  });
  const select = (lang, focus) => {
    selected = lang;
    tabs.querySelectorAll('button').forEach((b) => {
      const on = b.dataset.lang === lang;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
      if (on && focus) b.focus();
    });
    Object.entries(panels).forEach(([l, p]) => { p.hidden = l !== lang; });
  };
  for (const lang of langs) {
    tabs.append(h('button', {
      type: 'button', role: 'tab', id: `tpl-tab-${lang}`, 'aria-controls': `tpl-panel-${lang}`, dataset: { lang },
      onclick: () => select(lang),
      onkeydown: (e) => {
        const i = langs.indexOf(lang);
        if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
          e.preventDefault();
          select(langs[(i + (e.key === 'ArrowRight' ? 1 : langs.length - 1)) % langs.length], true);
        }
      },
    }, t(`admin.lang.${lang}`)));
    panels[lang] = h('div', { role: 'tabpanel', id: `tpl-panel-${lang}`, 'aria-labelledby': `tpl-tab-${lang}`, lang },
      kinds.map((kind) => {
        const pair = templates[lang][kind] || {};
        const title = h('input', { name: `${lang}.${kind}.title`, maxlength: '120', value: pair.title || '', lang });
        const body = h('input', { name: `${lang}.${kind}.body`, maxlength: '120', value: pair.body || '', lang });
        inputs[`${lang}.${kind}.title`] = title;
        inputs[`${lang}.${kind}.body`] = body;
        return h('fieldset', { class: 'plain template' },
          h('legend', {}, t(`admin.kind.${kind}`)),
          h('p', { class: 'hint' }, t(`admin.kind_hint.${kind}`)),
          field(t('admin.set.tpl_title'), title),
          field(t('admin.set.tpl_body'), body));
      }));
  }
  const message = h('div', { 'aria-live': 'polite' });
  const collect = () => Object.fromEntries(langs.map((l) => [l, Object.fromEntries(kinds.map((k) => [k, {
    title: inputs[`${l}.${k}.title`].value.trim(), body: inputs[`${l}.${k}.body`].value.trim(),
  }]))]));
  const save = async (body, done) => {
    message.replaceChildren();
    // Both the save and the reset button wait, so not the one-button case of submitForm.
    form.querySelectorAll('button').forEach((b) => { if (b.type === 'submit' || b.dataset.reset) b.disabled = true; });
    await submitForm(form, null, async () => {
      const answer = await api.put('/api/push/templates', { templates: body });
      for (const [l, byKind] of Object.entries(answer.templates || {})) {
        for (const [k, pair] of Object.entries(byKind)) {
          if (inputs[`${l}.${k}.title`]) inputs[`${l}.${k}.title`].value = pair.title;
          if (inputs[`${l}.${k}.body`]) inputs[`${l}.${k}.body`].value = pair.body;
        }
      }
      showFieldErrors(form, {});
      markTabs({});
      message.replaceChildren(notice(done, 'ok'));
    }, {
      onError: (error) => {
        // 422 names "lang.kind.field" (after "templates." for schema errors).
        const fields = Object.fromEntries(Object.entries(flattenErrors(error.fields)).map(([k, v]) => [k.replace(/^templates\./, ''), v]));
        const first = Object.keys(fields).find((k) => inputs[k]);
        markTabs(fields);
        if (first) select(first.split('.')[0]);
        failed(form, message, error, fields);
        return true;
      },
    });
    form.querySelectorAll('button').forEach((b) => { b.disabled = false; });
  };
  const form = h('form', { novalidate: true },
    h('p', {}, t('admin.set.tpl_intro')),
    h('p', { class: 'hint' }, t('admin.set.tpl_rules')),
    tabs,
    Object.values(panels),
    message,
    h('div', { class: 'row' },
      button(t('admin.set.tpl_save'), null, { type: 'submit' }),
      button(t('admin.set.tpl_reset'), () => {
        if (confirm(t('admin.set.tpl_reset_confirm'))) save({}, t('admin.set.tpl_reset_done'));
      }, { kind: 'secondary', dataset: { reset: '1' } })));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    save(collect(), t('admin.set.saved'));
  });
  select(selected);
  return h('section', { class: 'card', 'aria-labelledby': 'tpl-title' },
    h('h2', { id: 'tpl-title' }, t('admin.set.tpl_heading')), form);
}

function closedSection(rows) {
  const list = h('div', {});
  const said = h('div', { 'aria-live': 'polite' });
  const draw = (items) => {
    const sorted = [...items].sort((a, b) => a.day.localeCompare(b.day));
    list.replaceChildren(sorted.length
      ? h('ul', { class: 'list' }, sorted.map((row) => h('li', { class: 'spread', dataset: { id: String(row.id) } },
        h('span', {}, h('strong', {}, fmt.date(row.day, 'UTC')), row.label ? ` · ${row.label}` : ''),
        button(t('admin.set.closed_remove'), async (event) => {
          if (!confirm(t('admin.set.closed_remove_confirm', { day: fmt.date(row.day, 'UTC') }))) return;
          await submitForm(null, event.target, async () => {
            await api.del(`/api/closed-dates/${row.id}`);
            draw(items.filter((x) => x.id !== row.id));
            said.replaceChildren(notice(t('admin.set.closed_removed'), 'ok'));
          }, { message: said });
        }, { kind: 'secondary small', 'aria-label': t('admin.set.closed_remove_named', { day: fmt.date(row.day, 'UTC') }) }))))
      : notice(t('admin.set.closed_none'), 'info'));
    current = items;
  };
  let current = rows;
  const day = h('input', { name: 'day', type: 'date', required: true });
  const label = h('input', { name: 'label', maxlength: '120' });
  const message = h('div', { 'aria-live': 'polite' });
  const form = h('form', { novalidate: true },
    h('div', { class: 'row' },
      field(t('admin.set.closed_day'), day),
      field(t('admin.set.closed_label'), label, { hint: t('admin.set.closed_label_hint') })),
    message,
    button(t('admin.set.closed_add'), null, { type: 'submit' }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.replaceChildren();
    if (!day.value) {
      showFieldErrors(form, { day: [t('admin.set.closed_day_needed')] });
      day.focus();
      return;
    }
    if (!confirm(t('admin.set.closed_add_confirm', { day: fmt.date(day.value, 'UTC') }))) return;
    await submitForm(form, form.querySelector('button[type=submit]'), async () => {
      const row = await api.post('/api/closed-dates', { day: day.value, label: label.value.trim() });
      form.reset();
      showFieldErrors(form, {});
      draw([...current, row]);
      said.replaceChildren(notice(t('admin.set.closed_added', { day: fmt.date(row.day, 'UTC') }), 'ok'));
    }, { onError: (error) => failed(form, message, error, flattenErrors(error.fields)) });
  });
  draw(rows);
  return h('section', { class: 'card', 'aria-labelledby': 'closed-title' },
    h('h2', { id: 'closed-title' }, t('admin.set.closed_title')),
    h('p', {}, t('admin.set.closed_intro')),
    staleNote(rows),
    said,
    list,
    h('h3', {}, t('admin.set.closed_new')),
    form);
}

export default async function adminSettings({ path }) {
  await use('admin');
  const settled = await Promise.allSettled([
    api.get('/api/clinic/settings', { offline: true }),
    api.get('/api/push/templates', { offline: true }),
    api.get('/api/closed-dates', { offline: true }),
  ]);
  const part = (i, draw, titleKey) => (settled[i].status === 'fulfilled'
    ? draw(settled[i].value)
    : h('section', { class: 'card' }, h('h2', {}, t(titleKey)), notice(errorText(settled[i].reason), 'error')));
  return h('div', { class: 'admin' },
    adminNav(path),
    h('div', { class: 'card' },
      h('h1', {}, t('admin.set.title')),
      h('p', {}, t('admin.set.intro'))),
    part(0, clinicSection, 'admin.set.clinic_title'),
    part(1, templatesSection, 'admin.set.tpl_heading'),
    part(2, closedSection, 'admin.set.closed_title'));
}
