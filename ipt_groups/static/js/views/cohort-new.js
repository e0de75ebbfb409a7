// Create a cohort from a programme template: its calendar is generated at once.
import * as api from '../core/api.js';
import { t, tn, use } from '../core/i18n.js';
import { button, field, h, notice, showFieldErrors, stylesheet, submitForm, uid } from '../core/ui.js';
import { canManageCohorts, weekdayName } from './cohorts.js';

// A group of radios or checkboxes that showFieldErrors can find by name.
function choiceGroup(name, legend, items, { type = 'radio', hint, inline = false } = {}) {
  const id = uid('cn');
  const errorEl = h('p', { class: 'error', id: `${id}-error`, hidden: true });
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  const set = h('fieldset', { class: 'staff-fieldset', 'aria-describedby': [hintEl && hintEl.id, errorEl.id].filter(Boolean).join(' ') },
    h('legend', {}, legend), hintEl,
    inline
      ? h('div', { class: 'row' }, items.map((item) => h('label', { class: 'staff-choice' },
        h('input', { type, name, value: String(item.value), checked: !!item.checked, onchange: item.onchange }), item.label)))
      : h('ul', { class: 'checklist' }, items.map((item) => h('li', {},
        h('label', { class: 'staff-option' },
          h('input', { type, name, value: String(item.value), checked: !!item.checked, onchange: item.onchange }),
          h('span', {}, h('span', {}, item.label), item.detail ? h('span', { class: 'guidance' }, item.detail) : null))))));
  return h('div', { class: 'field', dataset: { field: name } }, set, errorEl);
}

function programmeShape(p) {
  const phases = p.phases || {};
  const count = (k) => (phases[k] || []).length;
  return [
    t('staff.new.shape', {
      sessions: p.group_sessions, minutes: p.session_minutes, min: p.group_size_min, max: p.group_size_max,
    }),
    ' ',
    t('staff.new.phases', { initial: count('initial'), middle: count('middle'), termination: count('termination') }),
    ' ',
    tn('staff.new.meetings', (p.meetings || []).length),
    ' ',
    t('staff.new.late_join', { session: p.late_join_sessions }),
  ].join('');
}

function todayIn(zone) {
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  } catch {
    return new Date().toISOString().slice(0, 10);
  }
}

export default async function cohortNew({ app }) {
  await use('staff');
  stylesheet('staff');
  if (!canManageCohorts(app.me)) {
    return h('section', { class: 'card' }, h('h1', {}, t('staff.new.title')),
      notice(t('staff.new.not_allowed'), 'warn'), h('p', {}, h('a', { href: '#/' }, t('staff.cohort.back'))));
  }
  const [programmes, staff] = await Promise.all([api.get('/api/programmes'), api.get('/api/staff')]);
  const me = app.me;
  const zone = me.time_zone || Intl.DateTimeFormat().resolvedOptions().timeZone;

  const name = h('input', { name: 'name', required: true, maxlength: 120, autocomplete: 'off' });
  const language = h('select', { name: 'language' },
    h('option', { value: 'en', selected: me.language !== 'es' }, t('staff.lang.en')),
    h('option', { value: 'es', selected: me.language === 'es' }, t('staff.lang.es')));
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const timeZone = h('input', { name: 'time_zone', value: zone, list: 'staff-zones', required: true, autocomplete: 'off', spellcheck: 'false' });
  const zoneList = h('datalist', { id: 'staff-zones' }, zones.map((z) => h('option', { value: z })));
  const weekday = h('select', { name: 'weekday' },
    [0, 1, 2, 3, 4, 5, 6].map((d) => h('option', { value: String(d) }, weekdayName(d))));
  const localTime = h('input', { name: 'local_time', type: 'time', value: '17:00', required: true });
  const startDate = h('input', { name: 'start_date', type: 'date', value: todayIn(zone), min: todayIn(zone), required: true });
  const minutes = h('input', { name: 'session_minutes', type: 'number', min: 15, max: 240, step: 5, inputmode: 'numeric' });
  const capacity = h('input', { name: 'capacity', type: 'number', min: 1, max: 100, inputmode: 'numeric' });
  const location = h('input', { name: 'location', maxlength: 500, autocomplete: 'off' });
  const locationLabel = h('span', {}, t('staff.new.place'));
  const locationField = field('', location, { hint: t('staff.new.location_hint') });
  locationField.querySelector('label').replaceChildren(locationLabel);

  const setKind = (kind) => {
    locationLabel.textContent = kind === 'online' ? t('staff.new.online_link') : t('staff.new.place');
    location.type = kind === 'online' ? 'url' : 'text';
    location.placeholder = kind === 'online' ? 'https://' : '';
  };
  const locationKind = choiceGroup('location_kind', t('staff.new.where'), [
    { value: 'place', label: t('staff.new.in_person'), checked: true, onchange: () => setKind('place') },
    { value: 'online', label: t('staff.new.online'), onchange: () => setKind('online') },
  ], { inline: true });

  const pick = (p) => {
    minutes.value = String(p.session_minutes);
    capacity.value = String(p.group_size_max);
    capacity.max = String(Math.max(p.group_size_max, 1));
  };
  const programme = choiceGroup('programme_key', t('staff.new.programme'), programmes.map((p, i) => ({
    value: p.key, label: p.name, checked: i === 0, onchange: () => pick(p),
    detail: [p.description, programmeShape(p)].filter(Boolean).join(' · '),
  })));
  if (programmes[0]) pick(programmes[0]);

  const facilitating = staff.filter((u) => u.role === 'facilitator' || u.role === 'admin');
  const lead = h('select', { name: 'lead_id' }, facilitating.map((u) => h('option', { value: String(u.id), selected: u.id === me.id }, u.display_name)));
  const others = (roles) => staff.filter((u) => roles.includes(u.role));
  const coFacilitators = choiceGroup('co_facilitator_ids', t('staff.new.co_facilitators'),
    others(['facilitator', 'admin']).map((u) => ({ value: u.id, label: u.display_name, detail: t(`staff.role.${u.role}`) })),
    { type: 'checkbox', hint: t('staff.new.co_hint') });
  const supervisors = choiceGroup('supervisor_ids', t('staff.new.supervisors'),
    others(['supervisor', 'admin']).map((u) => ({ value: u.id, label: u.display_name, detail: t(`staff.role.${u.role}`) })),
    { type: 'checkbox', hint: t('staff.new.supervisors_hint') });
  const staffError = h('div', { class: 'field', dataset: { field: 'staff' } }, h('p', { class: 'error', hidden: true }));

  const message = h('div', { 'aria-live': 'assertive' });
  const submit = button(t('staff.new.submit'), null, { type: 'submit' });
  const form = h('form', { class: 'stack staff-page', novalidate: true },
    h('h1', {}, t('staff.new.title')),
    h('p', { class: 'muted' }, t('staff.new.intro')),
    h('div', { class: 'card' }, programme),
    h('div', { class: 'card staff-form-grid' },
      h('h2', {}, t('staff.new.details')),
      field(t('staff.new.name'), name, { hint: t('staff.new.name_hint') }),
      field(t('staff.new.language'), language, { hint: t('staff.new.language_hint') })),
    h('div', { class: 'card staff-form-grid' },
      h('h2', {}, t('staff.new.when')),
      field(t('staff.new.time_zone'), timeZone, { hint: t('staff.new.time_zone_hint') }), zoneList,
      field(t('staff.new.weekday'), weekday),
      field(t('staff.new.local_time'), localTime),
      field(t('staff.new.start_date'), startDate, { hint: t('staff.new.start_hint') }),
      field(t('staff.new.minutes'), minutes)),
    h('div', { class: 'card staff-form-grid' },
      h('h2', {}, t('staff.new.where_title')),
      locationKind, locationField,
      field(t('staff.new.capacity'), capacity, { hint: t('staff.new.capacity_hint') })),
    h('div', { class: 'card' },
      h('h2', {}, t('staff.new.team')),
      field(t('staff.new.lead'), lead),
      coFacilitators, supervisors, staffError),
    message,
    h('div', { class: 'row' }, submit, h('a', { class: 'btn quiet', href: '#/' }, t('common.cancel'))));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.replaceChildren();
    const data = new FormData(form);
    const num = (v) => (v === '' || v == null ? undefined : Number(v));
    const body = {
      programme_key: data.get('programme_key') || '',
      name: name.value.trim(),
      language: language.value,
      time_zone: timeZone.value.trim(),
      weekday: Number(weekday.value),
      local_time: localTime.value,
      start_date: startDate.value,
      session_minutes: num(minutes.value),
      location_kind: data.get('location_kind') || 'place',
      location: location.value.trim(),
      capacity: num(capacity.value),
      lead_id: num(lead.value),
      co_facilitator_ids: data.getAll('co_facilitator_ids').map(Number),
      supervisor_ids: data.getAll('supervisor_ids').map(Number),
    };
    await submitForm(form, submit, async () => {
      const cohort = await api.post('/api/cohorts', body);
      app.go(`/cohorts/${cohort.id}`);
    }, {
      message,
      onError: (error) => {
        const matched = error.status === 422 && showFieldErrors(form, error.fields);
        if (matched) message.replaceChildren(notice(t('staff.new.fix_fields'), 'error'));
        // The groups of radios mark no control aria-invalid: focus the first field that says why.
        const first = form.querySelector('.field .error:not([hidden])');
        if (first) first.closest('.field').querySelector('input, select, textarea')?.focus();
        return matched;
      },
    });
  });
  return form;
}
