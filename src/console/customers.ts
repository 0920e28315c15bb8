/** Customers: search with cursor paging; the customer page (record, owners, systems, history, household, ledger). */
import { ApiError, get, post, type GetOk, type Schemas } from './api.ts';
import {
  badge,
  button,
  customerLink,
  el,
  errorText,
  link,
  nameOf,
  say,
  section,
  shortId,
  status,
  table,
  when,
  type Child,
} from './dom.ts';
import { ledgerSection, membersTable } from './households.ts';
import { showRevert, type Target } from './revert.ts';

/** The last search, kept in memory (not in the URL: search terms are personal data). */
const search = { q: '', cursors: [] as (string | undefined)[] };

export async function customersPage(view: HTMLElement): Promise<void> {
  const input = el('input', { id: 'customer-q', type: 'search', name: 'q', autocomplete: 'off', value: search.q });
  const form = el(
    'form',
    { role: 'search', class: 'search', id: 'customer-form' },
    el('label', { for: 'customer-q' }, 'Name, e-mail, phone or postcode'),
    input,
    el('button', {}, 'Search'),
  );
  const results = el('div', { id: 'customer-results' });
  const line = status('customer-status');
  view.append(el('h1', {}, 'Customers'), form, line, results);
  const show = async (cursor: string | undefined) => {
    try {
      const q = search.q.trim();
      const page = await get('/v1/customers', {
        query: { limit: 25, ...(q ? { q } : {}), ...(cursor ? { after: cursor } : {}) },
      });
      results.replaceChildren(customerTable(page.data), pager(page.next_after, show));
      const n = page.data.length;
      say(
        line,
        n === 0
          ? q
            ? `No customer matches “${q}”.`
            : 'No customers yet.'
          : `${n} shown${page.next_after ? ', more on the next page' : ''}.`,
      );
    } catch (err) {
      say(line, errorText(err), true);
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    search.q = input.value;
    search.cursors = [];
    void show(undefined);
  });
  await show(search.cursors.at(-1));
}

function customerTable(rows: Schemas['Customer'][]): HTMLElement {
  return table(
    'Customers',
    ['Name', 'E-mail', 'Phone', 'Address', 'Updated'],
    rows.map((c) => [
      customerLink(c.id, nameOf(c)),
      c.email,
      c.phone,
      c.address
        ? [c.address.line1, c.address.city, c.address.region, c.address.postal_code].filter(Boolean).join(', ')
        : '',
      when(c.updated_at),
    ]),
    'no customers',
  );
}

/** Previous / next page buttons over the `next_after` cursors. */
function pager(next: string | null, show: (cursor: string | undefined) => Promise<void>): HTMLElement {
  const nav = el('nav', { class: 'pager', 'aria-label': 'Pages' });
  if (search.cursors.length > 0)
    nav.append(
      button('Previous page', () => {
        search.cursors.pop();
        void show(search.cursors.at(-1));
      }),
    );
  if (next)
    nav.append(
      button(
        'Next page',
        () => {
          search.cursors.push(next);
          void show(next);
        },
        { id: 'customer-more' },
      ),
    );
  return nav;
}

type Systems = GetOk<'/v1/customers/{id}/systems'>;
type Fields = GetOk<'/v1/customers/{id}/fields'>;
type Billing = GetOk<'/v1/customers/{id}/billing'>;

export async function customerPage(view: HTMLElement, id: string): Promise<void> {
  const params = { id };
  const [c, fields, systems, billing] = await Promise.all([
    get('/v1/customers/{id}', { params }),
    get('/v1/customers/{id}/fields', { params }),
    get('/v1/customers/{id}/systems', { params }),
    get('/v1/customers/{id}/billing', { params }),
  ]);
  const line = status('customer-status');
  view.append(
    el('h1', {}, nameOf(c)),
    el(
      'p',
      { class: 'sub' },
      c.email ?? 'no e-mail',
      ' · ',
      shortId(c.id),
      c.merged_into ? ' · merged into ' : '',
      c.merged_into ? customerLink(c.merged_into) : '',
    ),
    line,
    recordSection(fields),
    systemsSection(systems, c, line),
    billingSection(billing),
    historySection(c),
  );
  const names = new Map([[c.id, nameOf(c)]]);
  if (c.household_id) {
    const h = await get('/v1/households/{id}', { params: { id: c.household_id } });
    for (const m of h.members) names.set(m.customer_id, nameOf(m));
    view.append(
      section(
        'Household',
        el(
          'p',
          { id: 'customer-household' },
          link(`#/households/${encodeURIComponent(h.id)}`, h.name ?? 'Household'),
          ` · ${c.hierarchy_role ?? 'member'} · points pooling ${c.points_aggregation_opt_in ? 'on' : 'off'} · ` +
            `pool ${h.pool_balance} points · household tier ${h.tier ?? 'none'} · own points ${c.points_balance}`,
        ),
        membersTable(h.members),
      ),
    );
  } else {
    view.append(
      section(
        'Household',
        el(
          'p',
          { id: 'customer-household' },
          `No household · tier ${c.tier ?? 'none'} · own points ${c.points_balance}`,
        ),
      ),
    );
  }
  const account = c.household_id && c.points_aggregation_opt_in ? c.household_id : c.id;
  view.append(await ledgerSection(account, names));
}

function recordSection(f: Fields): HTMLElement {
  const label: Record<string, string> = {
    given_name: 'Given name',
    family_name: 'Family name',
    email: 'E-mail',
    phone: 'Phone',
    address: 'Address',
  };
  return section(
    'Canonical record',
    el(
      'div',
      { id: 'customer-record' },
      table(
        'Canonical record, with the owner of each field',
        ['Field', 'Value', 'Owner', 'Set by', 'Last change'],
        f.data.map((r) => [
          label[r.field] ?? r.field,
          r.value ?? el('span', { class: 'muted' }, 'empty'),
          r.owner ? el('span', { title: `precedence: ${r.precedence.join(' > ')}` }, r.owner) : '',
          r.set_by,
          r.changed_at ? el('span', {}, when(r.changed_at), r.changed_by ? ` by ${r.changed_by}` : '') : '',
        ]),
      ),
    ),
  );
}

function systemsSection(s: Systems, c: Schemas['CustomerDetail'], line: HTMLElement): HTMLElement {
  const behind = s.out_of_date.length
    ? el('p', { class: 'warn-text' }, `Not confirmed in: ${s.out_of_date.join(', ')}.`)
    : el(
        'p',
        {},
        s.data.length ? 'Every system has confirmed the latest values.' : 'Nothing sent to other systems yet.',
      );
  const rows: Child[][] = s.data.map((r) => [
    r.system,
    badge(r.state ?? 'unknown'),
    r.kind,
    when(r.origin_at),
    when(r.done_at),
    String(r.attempts ?? ''),
    r.last_error ? el('span', { class: 'vendor-error' }, r.last_error) : '',
    r.state === 'dead' && r.job_id ? redriveButton(r.job_id, line) : '',
  ]);
  const links = table(
    'Records in other systems (crosswalk)',
    ['System', 'Their id', 'Their copy (last seen)', 'Linked'],
    c.source_records.map((l) => [l.system, l.external_id, copyOf(l.snapshot), when(l.linked_at)]),
    'not linked to any system',
  );
  return section(
    'Every system’s copy',
    behind,
    el(
      'div',
      { id: 'customer-systems' },
      table(
        'Latest values per system',
        ['System', 'State', 'What', 'Changed', 'Confirmed', 'Tries', 'Vendor error', ''],
        rows,
        'no jobs',
      ),
    ),
    el('h3', {}, 'Records in other systems'),
    el('div', { id: 'customer-links' }, links),
  );
}

/** Re-drive a dead job (operator key); the answer is said in the page's status line. */
export function redriveButton(jobId: string, line: HTMLElement, after?: () => void): HTMLButtonElement {
  const b = button(
    'Re-drive',
    () => {
      b.disabled = true;
      post('/v1/jobs/{id}/retry', { params: { id: jobId } })
        .then(() => {
          say(line, `Job …${jobId.slice(-8)} queued again.`);
          b.replaceWith(badge('pending'));
          after?.();
        })
        .catch((err: unknown) => {
          b.disabled = false;
          say(line, err instanceof ApiError ? `Not re-driven: ${err.message}` : errorText(err), true);
        });
    },
    { 'data-job': jobId, 'aria-label': `Re-drive job ${jobId}` },
  );
  return b;
}

/**
 * The change history with a Revert per change and per event; the dry run and its confirmation
 * open in a panel under the table, which redraws with the new changes once a revert is applied.
 */
function historySection(c: Schemas['CustomerDetail']): HTMLElement {
  const box = el('div', { id: 'customer-history' });
  const panel = el('div', { id: 'revert-panel', class: 'revert-panel', 'aria-live': 'polite', hidden: true });
  const open = (target: Target, opener: HTMLElement) =>
    void showRevert(panel, target, opener, () => {
      get('/v1/customers/{id}', { params: { id: c.id } })
        .then((fresh) => box.replaceChildren(changesTable(fresh.changes, open)))
        .catch(() => undefined);
    });
  box.append(changesTable(c.changes, open));
  return section('Change history', box, panel);
}

function changesTable(changes: Schemas['Change'][], open: (target: Target, opener: HTMLElement) => void): HTMLElement {
  // One "Revert event" per event, on its newest row (the list is newest first).
  const seen = new Set<string>();
  return table(
    'Change history, newest first',
    ['When', 'Field', 'Was', 'Now', 'From', 'By', 'Revert'],
    changes.map((ch) => {
      const what = ch.field.replaceAll('_', ' ');
      const one: HTMLButtonElement = button('Revert', () => open({ change: ch.id }, one), {
        class: 'secondary small',
        'data-revert-change': ch.id,
        'aria-label': `Revert change of ${what} (dry run first)`,
      });
      let all: Child = '';
      if (ch.event_id && !seen.has(ch.event_id)) {
        seen.add(ch.event_id);
        const eventId = ch.event_id;
        const b: HTMLButtonElement = button('Revert event', () => open({ event: eventId }, b), {
          class: 'secondary small',
          'data-revert-event': eventId,
          'aria-label': `Revert event ${eventId}: every change it made (dry run first)`,
        });
        all = b;
      }
      return [
        when(ch.changed_at),
        what,
        ch.old_value,
        ch.new_value,
        ch.source_system,
        ch.actor,
        el('span', { class: 'actions' }, one, all),
      ];
    }),
    'no changes recorded',
  );
}

const BILLING_STATUS: Record<string, string> = {
  active: 'active',
  past_due: 'past due',
  delinquent: 'delinquent',
  canceled: 'canceled',
};

/** Billing as the billing system (Stripe) reports it: standing since when, billing address, subscriptions. */
function billingSection(b: Billing): HTMLElement {
  const a = b.billing_address;
  const address = a ? [a.line1, a.line2, a.city, a.region, a.postal_code, a.country].filter(Boolean).join(', ') : '';
  return section(
    'Billing',
    el(
      'dl',
      { id: 'customer-billing', class: 'facts' },
      el('dt', {}, 'Status'),
      el(
        'dd',
        {},
        b.status ? badge(b.status) : el('span', { class: 'muted' }, 'no billing account linked'),
        b.status && BILLING_STATUS[b.status] && b.status_since ? ' since ' : '',
        b.status ? when(b.status_since) : '',
      ),
      el('dt', {}, 'Billing address'),
      el('dd', {}, address || el('span', { class: 'muted' }, 'none on file')),
    ),
    el(
      'div',
      { id: 'customer-subscriptions' },
      table(
        'Subscriptions',
        ['Plan', 'Status', 'System', 'Subscription id'],
        b.subscriptions.map((s) => [s.name ?? '', s.status ? badge(s.status) : '', s.system ?? '', s.id ?? '']),
        'no subscriptions',
      ),
    ),
  );
}

/** The system's copy as Hearth last saw it (the crosswalk snapshot): its filled scalar fields, as text. */
function copyOf(snapshot: unknown): string {
  if (!snapshot || typeof snapshot !== 'object') return '';
  return Object.entries(snapshot as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== '' && ['string', 'number', 'boolean'].includes(typeof v))
    .slice(0, 12)
    .map(([k, v]) => `${k}: ${String(v)}`)
    .join(' · ');
}
