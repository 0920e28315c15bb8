/** Identity review: each waiting item as a side-by-side comparison with its reasons in words. */
import { ApiError, get, post, type Schemas } from './api.ts';
import { button, customerLink, el, errorText, nameOf, say, status, type Child } from './dom.ts';

type Item = Schemas['ReviewItem'];
type Person = Item['customers'][number];

const KIND: Record<string, string> = {
  match: 'Possibly the same person',
  household_suggestion: 'Possibly one household',
  address_quarantine: 'Checkout address held back',
  system_duplicate: 'E-mail held by another record in a connected system',
};
const LEVEL: Record<string, string> = {
  exact: 'the same',
  differ: 'different',
  close: 'close',
  fuzzy: 'similar',
  missing: 'missing on one side',
  null: 'missing on one side',
};

export async function reviewPage(view: HTMLElement): Promise<void> {
  const line = status('review-status');
  const list = el('div', { id: 'review' });
  view.append(el('h1', {}, 'Identity review'), line, list);
  const load = async () => {
    const page = await get('/v1/review', { query: { status: 'pending', limit: 50 } });
    say(line, page.data.length ? `${page.data.length} item(s) waiting for a decision.` : 'Nothing waiting.');
    list.replaceChildren(...page.data.map((item) => card(item, line, load)));
  };
  await load();
}

function card(item: Item, line: HTMLElement, reload: () => Promise<void>): HTMLElement {
  const h = `rev-${item.id}`;
  const decide = (decision: 'link' | 'not_a_match') =>
    post('/v1/review/{id}', { params: { id: item.id }, body: { decision } })
      .then(() => reload())
      .then(() => say(line, `Decided: ${decision === 'link' ? 'linked' : 'not a match'}.`))
      .catch((err: unknown) =>
        say(line, err instanceof ApiError ? `Not decided: ${err.message}` : errorText(err), true),
      );
  const [yes, no] =
    item.kind === 'address_quarantine'
      ? ['Accept address', 'Discard']
      : item.kind === 'household_suggestion'
        ? ['Same household', 'Not a household']
        : ['Same person: link', 'Not a match'];
  return el(
    'article',
    { class: 'card review-item', 'aria-labelledby': h, 'data-review': item.id },
    el(
      'h2',
      { id: h },
      KIND[item.kind] ?? item.kind,
      item.score === null ? '' : ` · ${(100 * item.score).toFixed(0)}% likely`,
    ),
    el(
      'p',
      { class: 'sub' },
      `Raised ${new Date(item.created_at).toLocaleString()}`,
      item.source_system ? ` by ${item.source_system}` : '',
    ),
    compare(item.customers),
    el('h3', {}, 'Why'),
    el('ul', { class: 'reasons' }, ...reasons(item).map((r) => el('li', {}, r))),
    el(
      'div',
      { class: 'actions' },
      button(yes, () => void decide('link'), { 'data-decision': 'link' }),
      button(no, () => void decide('not_a_match'), { 'data-decision': 'not_a_match', class: 'secondary' }),
    ),
  );
}

type Full = Extract<Person, { source_records: unknown }>;
const isFull = (p: Person): p is Full => !('missing' in p);

/** One column per person, one row per field; a row whose values differ is marked in words and colour. */
function compare(people: Person[]): HTMLElement {
  const full = people.filter(isFull);
  const fields: [string, (p: Full) => string][] = [
    ['Name', (p) => nameOf(p)],
    ['E-mail', (p) => p.email ?? ''],
    ['Phone', (p) => p.phone ?? ''],
    [
      'Address',
      (p) =>
        p.address
          ? [p.address.line1, p.address.line2, p.address.city, p.address.region, p.address.postal_code]
              .filter(Boolean)
              .join(', ')
          : '',
    ],
    ['Systems', (p) => p.source_records.map((r) => r.system).join(', ')],
  ];
  const t = el('table', { class: 'compare' }, el('caption', { class: 'vh' }, 'Side-by-side comparison'));
  t.append(
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col' }, 'Field'),
        ...people.map((p, i) =>
          el(
            'th',
            { scope: 'col' },
            isFull(p) ? customerLink(p.id, `${String.fromCharCode(65 + i)}: ${nameOf(p)}`) : 'gone',
          ),
        ),
        el('th', { scope: 'col' }, ''),
      ),
    ),
  );
  const body = el('tbody');
  for (const [label, value] of fields) {
    const values = full.map(value);
    const same = new Set(values.map((v) => v.toLowerCase())).size <= 1;
    body.append(
      el(
        'tr',
        { class: same ? 'same' : 'differ' },
        el('th', { scope: 'row' }, label),
        ...people.map((p) => el('td', {}, isFull(p) ? value(p) : '')),
        el('td', {}, same ? (values.every((v) => v === '') ? 'both empty' : 'same') : '≠ differs'),
      ),
    );
  }
  t.append(body);
  return el('div', { class: 'scroll', role: 'region', 'aria-label': 'Side-by-side comparison', tabindex: '0' }, t);
}

/** The item's explanation in sentences. */
function reasons(item: Item): Child[] {
  const e = (item.explanation ?? {}) as Record<string, unknown>;
  const out: Child[] = [];
  // A connected system refused a write (Zendesk DuplicateValue): its message names the record in the way.
  if (typeof e.message === 'string' && e.reason === 'duplicate_email') out.push(`${e.message}.`);
  if (item.kind === 'match') {
    if (typeof e.guard === 'string') out.push(`Held back for a person to decide: ${e.guard}.`);
    for (const f of (Array.isArray(e.fields) ? e.fields : []) as { field: string; level: string; weight: number }[]) {
      const w = Number(f.weight);
      out.push(
        `${f.field.replaceAll('_', ' ')}: ${LEVEL[f.level] ?? f.level} ` +
          `(${w >= 0 ? 'counts for' : 'counts against'}, ${w >= 0 ? '+' : '−'}${Math.abs(w).toFixed(1)})`,
      );
    }
  } else if (item.kind === 'household_suggestion') {
    if (e.family_name) out.push(`Same family name: ${String(e.family_name)}.`);
    if (e.address_key) out.push('Same delivery point (address normalised to USPS Pub. 28).');
    const current = e.current_households as Record<string, string | null> | undefined;
    if (current) {
      const n = new Set(Object.values(current).filter(Boolean)).size;
      out.push(n === 0 ? 'None of them is in a household yet.' : `Today they are in ${n} different household(s).`);
    }
  } else if (item.kind !== 'system_duplicate') {
    if (e.reason) out.push(`${String(e.reason)}${e.field ? ` (field ${String(e.field)})` : ''}.`);
    if (e.rule) out.push(`Rule: ${String(e.rule)}.`);
    const a = e.address as Record<string, string | null> | undefined;
    if (a)
      out.push(`Address as typed: ${[a.line1, a.line2, a.city, a.region, a.postal_code].filter(Boolean).join(', ')}.`);
  }
  if (out.length === 0) out.push('No explanation was recorded.');
  return out;
}
