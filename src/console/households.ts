/** Households: the list, a household's page (members, roles, opt-in, pool, tier, history), and ledgers. */
import { get, type Schemas } from './api.ts';
import { button, customerLink, el, link, nameOf, section, shortId, table, when } from './dom.ts';

const cursors: (string | undefined)[] = [];

export async function householdsPage(view: HTMLElement): Promise<void> {
  const list = el('div', { id: 'households' });
  view.append(el('h1', {}, 'Households'), list);
  const show = async (cursor: string | undefined) => {
    const page = await get('/v1/households', { query: { limit: 50, ...(cursor ? { after: cursor } : {}) } });
    const nav = el('nav', { class: 'pager', 'aria-label': 'Pages' });
    if (cursors.length) nav.append(button('Previous page', () => (cursors.pop(), void show(cursors.at(-1)))));
    const next = page.next_after;
    if (next) nav.append(button('Next page', () => (cursors.push(next), void show(next))));
    list.replaceChildren(
      table(
        'Households, newest first',
        ['Household', 'Source', 'Their id', 'Updated'],
        page.data.map((h) => [
          link(`#/households/${encodeURIComponent(h.id)}`, h.name ?? `household ${h.id.slice(-6)}`),
          h.source_system,
          h.external_id,
          when(h.updated_at),
        ]),
        'no households yet',
      ),
      nav,
    );
  };
  await show(cursors.at(-1));
}

export async function householdPage(view: HTMLElement, id: string): Promise<void> {
  const h = await get('/v1/households/{id}', { params: { id } });
  const names = new Map(h.members.map((m) => [m.customer_id, nameOf(m)]));
  view.append(
    el('h1', {}, h.name ?? 'Household'),
    el('p', { class: 'sub' }, `${h.source_system ?? 'Hearth'} ${h.external_id ?? ''} · `, shortId(h.id)),
    el(
      'dl',
      { class: 'tiles' },
      tile('Members', String(h.members.length)),
      tile('Pool balance', `${h.pool_balance} points`),
      tile('Household tier', h.tier ?? 'none'),
    ),
    section('Members', membersTable(h.members)),
    section(
      'Membership history',
      table(
        'Membership history',
        ['Member', 'Role', 'Points pooling', 'From', 'Until'],
        h.history.map((m) => [
          customerLink(m.customer_id, names.get(m.customer_id)),
          m.hierarchy_role,
          m.points_aggregation_opt_in ? 'on' : 'off',
          when(m.valid_from),
          when(m.valid_to) || 'now',
        ]),
      ),
    ),
    await ledgerSection(h.id, names),
  );
}

function tile(label: string, value: string): HTMLElement {
  return el('div', { class: 'tile' }, el('dt', {}, label), el('dd', {}, value));
}

export function membersTable(members: Schemas['HouseholdMember'][]): HTMLElement {
  return el(
    'div',
    { id: 'household-members' },
    table(
      'Members with role and points pooling',
      ['Member', 'E-mail', 'Role', 'Points pooling', 'Since'],
      members.map((m) => [
        customerLink(m.customer_id, nameOf(m)),
        m.email,
        m.hierarchy_role,
        m.points_aggregation_opt_in ? 'on' : 'off',
        when(m.valid_from),
      ]),
      'no members',
    ),
  );
}

/** The points ledger of an account (a household pool or a customer), with who or what made each entry. */
export async function ledgerSection(account: string, names = new Map<string, string>()): Promise<HTMLElement> {
  const first = await get('/v1/loyalty/accounts/{id}/entries', { params: { id: account }, query: { limit: 50 } });
  const box = el('div', { id: 'ledger' });
  const rows = (entries: Schemas['LedgerEntry'][]) =>
    entries.map((e) => [
      when(e.occurred_at),
      e.kind.replaceAll('_', ' '),
      e.points > 0 ? `+${e.points}` : String(e.points),
      e.order_name ?? e.order_id,
      e.customer_id ? customerLink(e.customer_id, names.get(e.customer_id)) : '',
      e.actor === e.source ? e.actor : [e.actor, e.source].filter(Boolean).join(' via '),
      e.reason,
    ]);
  const all = rows(first.data);
  const draw = (next: string | null) => {
    const more = next
      ? button('More entries', () => {
          void get('/v1/loyalty/accounts/{id}/entries', {
            params: { id: account },
            query: { limit: 50, after: next },
          }).then((p) => {
            all.push(...rows(p.data));
            draw(p.next_after);
          });
        })
      : '';
    box.replaceChildren(
      table('Ledger entries', ['When', 'Kind', 'Points', 'Order', 'Member', 'By', 'Reason'], all, 'no entries'),
      el('div', {}, more),
    );
  };
  draw(first.next_after);
  return section(`Ledger (${first.kind} account, balance ${first.balance})`, box);
}
