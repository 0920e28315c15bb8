/**
 * Erasures: who was erased when and by whom, each connected system's confirmation (pending, done,
 * failed with the system's refusal), a retry of the refusals, and the webhooks held because they
 * named an erased person (release applies them as new, dismiss blanks them). Acting needs an
 * admin key; other keys read. Below, which fields went to which system (the minimisation audit).
 */
import { ApiError, get, post, type Schemas } from './api.ts';
import { badge, button, el, errorText, say, section, shortId, status, table, when, type Child } from './dom.ts';
import { isAdmin } from './governance.ts';

type Report = Schemas['ErasureReport'];
type Hold = Schemas['ErasureHold'];

export async function erasuresPage(view: HTMLElement): Promise<void> {
  const admin = await isAdmin();
  const line = status('erasure-status');
  const listBox = el('div', { id: 'erasures' });
  const holdBox = el('div', { id: 'erasure-holds' });
  const sentBox = el('div', { id: 'disclosures' });
  view.append(
    el('h1', {}, 'Erasures'),
    line,
    el(
      'p',
      { class: 'sub' },
      admin
        ? 'Erase a customer with DELETE /v1/customers/:id or `hearth erase ID`; here each system confirms.'
        : 'Read only: retrying an erasure and deciding a held webhook need an admin key.',
    ),
    section('Erasures and each system’s confirmation', listBox),
    section('Webhooks held because they named an erased person', holdBox),
    section('Which fields went to which system', sentBox),
  );
  const load = async () => {
    const [list, sent] = await Promise.all([
      get('/v1/erasures', { query: { limit: 50 } }),
      get('/v1/disclosures', { query: { limit: 30 } }),
    ]);
    listBox.replaceChildren(erasuresTable(list.data, admin, line, load));
    holdBox.replaceChildren(holdsTable(list.data, admin, line, load));
    sentBox.replaceChildren(
      table(
        'Delivered jobs that carried person fields, newest first',
        ['Delivered', 'Customer', 'System', 'Job', 'Fields'],
        sent.data.map((d) => [
          when(d.delivered_at),
          d.customer_id ? shortId(d.customer_id) : '',
          d.target,
          el('code', {}, d.kind),
          d.fields.join(', '),
        ]),
        'nothing delivered with person fields yet',
      ),
    );
  };
  await load();
}

function systemLine(s: Report['systems'][number]): HTMLElement {
  return el(
    'li',
    { 'data-system': s.system },
    `${s.system}: `,
    badge(s.status),
    s.attempts > 0 ? ` after ${s.attempts} attempt(s)` : '',
    s.error ? el('span', { class: 'err-text' }, ` — ${s.error}`) : '',
    s.note ? el('span', { class: 'muted' }, ` (${s.note})`) : '',
  );
}

function erasuresTable(rows: Report[], admin: boolean, line: HTMLElement, reload: () => Promise<void>): HTMLElement {
  const retry = (r: Report, b: HTMLButtonElement) => {
    b.disabled = true;
    post('/v1/erasures/{id}/retry', { params: { id: r.id } })
      .then(() => reload())
      .then(() => say(line, `Retry queued for ${r.id}: the refused systems are asked again.`))
      .catch((err: unknown) => {
        b.disabled = false;
        say(line, err instanceof ApiError ? `Not retried: ${err.message}` : errorText(err), true);
      });
  };
  const headers = ['Erased', 'Erasure', 'Customer', 'By', 'Status', 'Systems', 'Held'];
  if (admin) headers.push('Act');
  return table(
    'Erasures, newest first',
    headers,
    rows.map((r) => {
      const refused = r.systems.some((s) => s.status === 'failed');
      const row: Child[] = [
        when(r.created_at),
        el('code', { 'data-erasure': r.id }, r.id),
        shortId(r.customer_id),
        r.actor,
        badge(r.status),
        r.systems.length
          ? el('ul', { class: 'plain' }, ...r.systems.map(systemLine))
          : el('span', { class: 'muted' }, 'no connected system can erase'),
        String(r.holds.filter((h) => h.status === 'held').length),
      ];
      if (admin) {
        const b: HTMLButtonElement = button('Retry refused', () => retry(r, b), {
          class: 'small',
          'data-retry': r.id,
          'aria-label': `Retry refused systems of erasure ${r.id}`,
        });
        row.push(refused ? b : '');
      }
      return row;
    }),
    'no one erased yet',
  );
}

function holdsTable(rows: Report[], admin: boolean, line: HTMLElement, reload: () => Promise<void>): HTMLElement {
  const held = rows.flatMap((r) => r.holds.filter((h) => h.status === 'held'));
  const decide = (h: Hold, decision: 'release' | 'dismiss', b: HTMLButtonElement) => {
    b.disabled = true;
    post('/v1/erasures/holds/{id}', { params: { id: h.id }, body: { decision } })
      .then(() => reload())
      .then(() =>
        say(
          line,
          decision === 'release'
            ? `Released: the ${h.connector} event applies as a new customer; the tombstone is lifted.`
            : `Dismissed: the ${h.connector} event stays out and its payload is blanked.`,
        ),
      )
      .catch((err: unknown) => {
        b.disabled = false;
        say(line, err instanceof ApiError ? `Not decided: ${err.message}` : errorText(err), true);
      });
  };
  const headers = ['Held', 'Erasure', 'From', 'Matched by', 'Event'];
  if (admin) headers.push('Decide');
  return table(
    'Webhooks held because they named an erased person',
    headers,
    held.map((h) => {
      const row: Child[] = [when(h.created_at), shortId(h.erasure_id), h.connector, h.matched, shortId(h.event_id)];
      if (admin) {
        const yes: HTMLButtonElement = button('Release', () => decide(h, 'release', yes), {
          class: 'small',
          'data-decision': 'release',
          'data-hold': h.id,
          'aria-label': `Release the ${h.connector} event held by ${h.matched}`,
        });
        const no: HTMLButtonElement = button('Dismiss', () => decide(h, 'dismiss', no), {
          class: 'secondary small',
          'data-decision': 'dismiss',
          'data-hold': h.id,
          'aria-label': `Dismiss the ${h.connector} event held by ${h.matched}`,
        });
        row.push(el('span', { class: 'actions' }, yes, no));
      }
      return row;
    }),
    'nothing held',
  );
}
