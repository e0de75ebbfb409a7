// Programmes (admins): the shipped ones and the clinic's own, with their phase
// map and individual meetings; create a custom one, archive a custom one.
import * as api from '../core/api.js';
import { t, tn, use } from '../core/i18n.js';
import {
  button, errorText, field, flattenErrors, h, notice, showFieldErrors, staleNote, submitForm, unmatchedErrors,
} from '../core/ui.js';
import { adminNav } from './admin-nav.js';

const PHASES = ['initial', 'middle', 'termination'];
const MEETINGS = ['pre_group', 'mid_programme', 'post_group'];

// [1,2,3,5] -> "1-3, 5"
function ranges(numbers) {
  const sorted = [...numbers].sort((a, b) => a - b);
  const out = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    out.push(j > i ? `${sorted[i]}-${sorted[j]}` : String(sorted[i]));
    i = j;
  }
  return out.join(', ');
}

// "1-3, 5" -> [1,2,3,5]; null when it cannot be read.
function parseRanges(text) {
  const out = [];
  for (const part of text.split(/[,;\s]+/).filter(Boolean)) {
    const m = part.match(/^(\d{1,2})(?:[-–](\d{1,2}))?$/);
    if (!m) return null;
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : a;
    if (b < a) return null;
    for (let n = a; n <= b; n++) out.push(n);
  }
  return out;
}

function programmeItem(p, { archived, reload }) {
  const message = h('div', { 'aria-live': 'polite' });
  const archive = async (event) => {
    if (!confirm(t('admin.prog.archive_confirm', { name: p.name }))) return;
    await submitForm(null, event.target, async () => {
      await api.del(`/api/programmes/${encodeURIComponent(p.key)}`);
      await reload(t('admin.prog.archived_done', { name: p.name }));
    }, { message });
  };
  const byPhase = PHASES.map((phase) => h('tr', {},
    h('th', { scope: 'row' }, t(`admin.phase.${phase}`)),
    h('td', {}, ranges(p.phases?.[phase] || [])),
    h('td', {}, String((p.phases?.[phase] || []).length))));
  return h('li', { class: 'programme', dataset: { key: p.key } },
    h('div', { class: 'spread' },
      h('h3', { class: 'programme-name' }, p.name),
      h('span', {},
        h('span', { class: `badge ${p.shipped ? '' : 'ok'}` }, p.shipped ? t('admin.prog.shipped') : t('admin.prog.custom')),
        archived ? [' ', h('span', { class: 'badge warn' }, t('admin.prog.archived'))] : null)),
    h('p', { class: 'muted' }, t('admin.prog.summary', {
      sessions: p.group_sessions, minutes: p.session_minutes, min: p.group_size_min, max: p.group_size_max,
    })),
    p.description ? h('p', {}, p.description) : null,
    h('details', {},
      h('summary', {}, t('admin.prog.details')),
      h('div', { class: 'stack' },
        h('p', { class: 'muted' }, t('admin.prog.key', { key: p.key })),
        h('div', { class: 'table-wrap' }, h('table', {},
          h('caption', { class: 'muted' }, t('admin.prog.phases_caption')),
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col' }, t('admin.prog.phase')),
            h('th', { scope: 'col' }, t('admin.prog.sessions')),
            h('th', { scope: 'col' }, t('admin.prog.how_many')))),
          h('tbody', {}, byPhase))),
        h('h4', {}, t('admin.prog.meetings')),
        p.meetings?.length
          ? h('ul', {}, p.meetings.map((m) => h('li', {}, `${m.label} (${m.after_session === 0
            ? t('admin.prog.before_start') : t('admin.prog.after_session', { n: m.after_session })})`)))
          : h('p', { class: 'muted' }, t('admin.prog.no_meetings')),
        h('p', {}, t('admin.prog.late_join', { n: p.late_join_sessions })),
        h('p', {}, p.follow_up_weeks ? t('admin.prog.follow_up', { n: p.follow_up_weeks }) : t('admin.prog.no_follow_up')),
        h('h4', {}, t('admin.prog.measures')),
        p.measures?.length
          ? h('ul', {}, p.measures.map((m) => h('li', {}, m.instrument.toUpperCase(), ': ',
            [m.every_session ? t('admin.prog.every_session') : null,
              m.sessions?.length ? t('admin.prog.at_sessions', { list: ranges(m.sessions) }) : null,
              m.meetings?.length ? t('admin.prog.at_meetings', { list: m.meetings.map((k) => t(`admin.meeting.${k}`)).join(', ') }) : null,
            ].filter(Boolean).join('; '))))
          : h('p', { class: 'muted' }, t('admin.prog.default_measures')),
        h('p', {}, p.releases?.length ? tn('admin.prog.releases', p.releases.length) : t('admin.prog.default_releases')))),
    !p.shipped && !archived ? button(t('admin.prog.archive'), archive, { kind: 'secondary small', 'aria-label': t('admin.prog.archive_named', { name: p.name }) }) : null,
    message);
}

function createForm(programmes, reload) {
  const num = (name, value, min, max) => h('input', { name, type: 'number', inputmode: 'numeric', min: String(min), max: String(max), value: String(value), required: true });
  const inputs = {
    key: h('input', { name: 'key', autocapitalize: 'none', spellcheck: 'false', required: true, maxlength: '40', pattern: '[a-z0-9][a-z0-9-]{1,39}' }),
    name: h('input', { name: 'name', required: true, maxlength: '120' }),
    description: h('textarea', { name: 'description', maxlength: '1000', rows: '2' }),
    group_sessions: num('group_sessions', 8, 1, 52),
    session_minutes: num('session_minutes', 90, 15, 240),
    group_size_min: num('group_size_min', 6, 1, 50),
    group_size_max: num('group_size_max', 10, 1, 50),
    late_join_sessions: num('late_join_sessions', 2, 1, 52),
    follow_up_weeks: h('input', { name: 'follow_up_weeks', type: 'number', inputmode: 'numeric', min: '1', max: '104', value: '13' }),
  };
  const phases = Object.fromEntries(PHASES.map((p) => [p, h('input', { name: `phases.${p}`, inputmode: 'numeric', required: true, autocomplete: 'off' })]));
  const meetingRows = Object.fromEntries(MEETINGS.map((kind) => {
    const include = h('input', { type: 'checkbox', name: `meet-${kind}` });
    const after = kind === 'mid_programme' ? num(`meetings.${kind}.after_session`, 4, 1, 52) : null;
    const label = h('input', { name: `meetings.${kind}.label`, maxlength: '120', value: t(`admin.meeting.default_label.${kind}`) });
    return [kind, { include, after, label }];
  }));
  meetingRows.pre_group.include.checked = true;

  const fill = (p) => {
    for (const k of ['name', 'description', 'group_sessions', 'session_minutes', 'group_size_min', 'group_size_max', 'late_join_sessions', 'follow_up_weeks']) {
      inputs[k].value = p[k] ?? '';
    }
    for (const phase of PHASES) phases[phase].value = ranges(p.phases?.[phase] || []);
    for (const kind of MEETINGS) {
      const m = p.meetings?.find((x) => x.kind === kind);
      meetingRows[kind].include.checked = !!m;
      if (m) meetingRows[kind].label.value = m.label;
      if (m && meetingRows[kind].after) meetingRows[kind].after.value = String(m.after_session);
    }
  };
  const startFrom = h('select', { name: 'start_from', onchange: (e) => {
    const p = programmes.find((x) => x.key === e.target.value);
    if (p) fill(p);
  } }, h('option', { value: '' }, t('admin.prog.start_blank')), programmes.map((p) => h('option', { value: p.key }, p.name)));
  fill({ ...Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value])), phases: { initial: [1], middle: [2, 3, 4, 5, 6, 7], termination: [8] }, meetings: [{ kind: 'pre_group', after_session: 0, label: meetingRows.pre_group.label.value }] });
  inputs.name.value = '';

  const message = h('div', { 'aria-live': 'polite' });
  const meetingsBox = h('fieldset', { class: 'plain' },
    h('legend', {}, t('admin.prog.meetings')),
    h('p', { class: 'hint' }, t('admin.prog.meetings_hint')),
    MEETINGS.map((kind) => {
      const row = meetingRows[kind];
      return h('div', { class: 'meeting-row' },
        h('label', { class: 'switch' }, row.include, h('span', {}, t(`admin.meeting.${kind}`))),
        h('div', { class: 'row' },
          field(t('admin.prog.meeting_label'), row.label),
          row.after ? field(t('admin.prog.meeting_after'), row.after) : null));
    }));

  const form = h('form', { novalidate: true, class: 'stack' },
    field(t('admin.prog.start_from'), startFrom, { hint: t('admin.prog.start_from_hint') }),
    field(t('admin.prog.f.key'), inputs.key, { hint: t('admin.prog.f.key_hint') }),
    field(t('admin.prog.f.name'), inputs.name),
    field(t('admin.prog.f.description'), inputs.description),
    h('div', { class: 'row numbers' },
      field(t('admin.prog.f.group_sessions'), inputs.group_sessions),
      field(t('admin.prog.f.session_minutes'), inputs.session_minutes),
      field(t('admin.prog.f.group_size_min'), inputs.group_size_min),
      field(t('admin.prog.f.group_size_max'), inputs.group_size_max),
      field(t('admin.prog.f.late_join_sessions'), inputs.late_join_sessions, { hint: t('admin.prog.f.late_join_hint') }),
      field(t('admin.prog.f.follow_up_weeks'), inputs.follow_up_weeks, { hint: t('admin.prog.f.follow_up_hint') })),
    h('fieldset', { class: 'plain' },
      h('legend', {}, t('admin.prog.phase_map')),
      h('p', { class: 'hint' }, t('admin.prog.phase_map_hint')),
      PHASES.map((p) => field(t(`admin.phase.${p}`), phases[p]))),
    meetingsBox,
    h('p', { class: 'hint' }, t('admin.prog.defaults_note')),
    message,
    button(t('admin.prog.create'), null, { type: 'submit' }));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.replaceChildren();
    const local = {};
    const body = {
      key: inputs.key.value.trim(),
      name: inputs.name.value.trim(),
      description: inputs.description.value.trim(),
      phases: {},
      meetings: [],
    };
    for (const k of ['group_sessions', 'session_minutes', 'group_size_min', 'group_size_max', 'late_join_sessions']) {
      const v = inputs[k].value.trim();
      if (!/^\d+$/.test(v)) local[k] = [t('admin.prog.whole_number')];
      else body[k] = Number(v);
    }
    // Empty: no follow-up contact (null), not the default.
    const weeks = inputs.follow_up_weeks.value.trim();
    if (weeks && !/^\d+$/.test(weeks)) local.follow_up_weeks = [t('admin.prog.whole_number')];
    else body.follow_up_weeks = weeks ? Number(weeks) : null;
    for (const p of PHASES) {
      const list = parseRanges(phases[p].value);
      if (list === null) local[`phases.${p}`] = [t('admin.prog.phase_unreadable')];
      else body.phases[p] = list;
    }
    for (const kind of MEETINGS) {
      const row = meetingRows[kind];
      if (!row.include.checked) continue;
      const after = kind === 'pre_group' ? 0 : kind === 'post_group' ? body.group_sessions : Number(row.after.value);
      body.meetings.push({ kind, after_session: after, label: row.label.value.trim() || t(`admin.meeting.default_label.${kind}`) });
    }
    if (Object.keys(local).length) {
      showFieldErrors(form, local);
      form.querySelector('[aria-invalid="true"]')?.focus();
      return;
    }
    await submitForm(form, form.querySelector('button[type=submit]'), async () => {
      const created = await api.post('/api/programmes', body);
      form.reset();
      await reload(t('admin.prog.created', { name: created.name }));
    }, {
      message,
      focusInvalid: true,
      onError: (error) => {
        const fields = flattenErrors(error.fields);
        // Meeting errors arrive by position ("meetings.0.label"): name them by kind.
        for (const [k, v] of Object.entries(fields)) {
          const m = k.match(/^meetings\.(\d+)\.(\w+)$/);
          if (m && body.meetings[Number(m[1])]) {
            delete fields[k];
            fields[`meetings.${body.meetings[Number(m[1])].kind}.${m[2]}`] = v;
          }
        }
        if (error.code === 'key_taken') fields.key = [errorText(error)];
        const matched = showFieldErrors(form, fields);
        const rest = unmatchedErrors(form, fields).map((m) => m.replace(/^programme: /, ''));
        if (rest.length) {
          message.replaceChildren(h('div', { class: 'notice error', role: 'alert' },
            h('p', {}, t('admin.prog.problems')), h('ul', {}, rest.map((r) => h('li', {}, r)))));
        }
        return matched || rest.length > 0;
      },
    });
  });
  return form;
}

export default async function adminProgrammes({ app, path }) {
  await use('admin');
  const showArchived = new URLSearchParams(location.hash.split('?')[1] || '').get('archived') === '1';
  const [current, everything] = await Promise.all([
    api.get('/api/programmes', { offline: true }),
    showArchived ? api.get('/api/programmes?include_archived=true', { offline: true }) : null,
  ]);
  const liveKeys = new Set(current.map((p) => p.key));
  const list = showArchived ? everything : current;
  const said = h('div', { 'aria-live': 'polite' });
  const reload = async (message) => {
    sessionStorage.setItem('admin-said', message);
    app.rerender();
  };
  const flash = sessionStorage.getItem('admin-said');
  if (flash) {
    sessionStorage.removeItem('admin-said');
    said.replaceChildren(notice(flash, 'ok'));
  }
  const shipped = list.filter((p) => p.shipped);
  const custom = list.filter((p) => !p.shipped);
  const item = (p) => programmeItem(p, { archived: !liveKeys.has(p.key), reload });
  return h('div', { class: 'admin' },
    adminNav(path),
    h('section', { class: 'card', 'aria-labelledby': 'prog-title' },
      h('h1', { id: 'prog-title' }, t('admin.prog.title')),
      h('p', {}, t('admin.prog.intro')),
      staleNote(current),
      said,
      h('label', { class: 'switch' },
        h('input', { type: 'checkbox', role: 'switch', checked: showArchived, onchange: (e) => app.go(e.target.checked ? '/admin/programmes?archived=1' : '/admin/programmes') }),
        h('span', {}, t('admin.prog.show_archived')))),
    h('section', { class: 'card', 'aria-labelledby': 'custom-title' },
      h('h2', { id: 'custom-title' }, t('admin.prog.custom_title')),
      custom.length ? h('ul', { class: 'list programmes' }, custom.map(item)) : notice(t('admin.prog.no_custom'), 'info')),
    h('section', { class: 'card', 'aria-labelledby': 'shipped-title' },
      h('h2', { id: 'shipped-title' }, t('admin.prog.shipped_title')),
      h('ul', { class: 'list programmes' }, shipped.map(item))),
    h('section', { class: 'card', 'aria-labelledby': 'new-prog-title' },
      h('h2', { id: 'new-prog-title' }, t('admin.prog.new_title')),
      h('p', {}, t('admin.prog.new_intro')),
      createForm(current, reload)));
}
