// What this device still has to send, and what the server refused (with why),
// so nothing is lost silently.
import { drawStatus, flushOutbox } from '../app.js';
import * as fmt from '../core/fmt.js';
import { t } from '../core/i18n.js';
import { button, errorText, h, notice } from '../core/ui.js';

const store = self.IptOutbox;

export default async function outbox({ app }) {
  const entries = await store.outbox.list();
  const list = h('ul', { class: 'list' }, entries.map((entry) => h('li', { dataset: { key: entry.key } },
    h('div', { class: 'spread' },
      h('strong', {}, entry.label || `${entry.method} ${entry.path}`),
      h('span', { class: `badge ${entry.state === 'refused' ? 'danger' : 'warn'}` },
        entry.state === 'refused' ? t('outbox.refused') : t('outbox.waiting'))),
    h('p', { class: 'muted' }, t('outbox.made', { when: fmt.dateTime(entry.createdAt) })),
    entry.error ? notice(errorText(entry.error), 'error') : null,
    button(t('outbox.discard'), async () => {
      if (!confirm(t('outbox.discard_confirm'))) return;
      await store.outbox.remove(entry.key);
      await drawStatus();
      app.rerender();
    }, { kind: 'secondary small' }))));
  return h('section', { class: 'card' },
    h('h1', {}, t('outbox.title')),
    h('p', {}, t('outbox.intro')),
    entries.length ? list : notice(t('outbox.empty'), 'ok'),
    entries.some((e) => e.state === 'waiting')
      ? button(t('outbox.send_now'), async () => { await flushOutbox(); app.rerender(); })
      : null);
}
