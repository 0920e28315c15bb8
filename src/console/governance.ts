/**
 * Governance: runtime flags (admins set them, with a reason; who changed what, when), what shadow
 * mode held per system, and the changes quality rules held for review (approve / reject).
 */
import { ApiError, get, post, put, type Schemas } from './api.ts';
import { showRevert, type Target } from './revert.ts';
import {
  badge,
  button,
  customerLink,
  el,
  errorText,
  link,
  say,
  section,
  status,
  table,
  when,
  type Child,
} from './dom.ts';

type Flag = Schemas['Flag'];
type Review = Schemas['QualityReview'];

export async function governancePage(view: HTMLElement): Promise<void> {
  const [flags, admin] = await Promise.all([get('/v1/flags'), isAdmin()]);
  const line = status('governance-status');
  const flagBox = el('div', { id: 'flags' });
  const changesBox = el('div', { id: 'flag-changes' });
  const shadowBox = el('div', { id: 'shadow' });
  const reviewBox = el('div', { id: 'quality-reviews' });
  view.append(
    el('h1', {}, 'Governance'),
    line,
    section(
      'Runtime flags',
      el(
        'p',
        { class: 'sub' },
        admin
          ? 'Every process applies a change from its next batch; the change and its reason are audit-logged.'
          : 'Read only: setting a flag needs an admin key.',
      ),
      flagBox,
      el('h3', {}, 'Flag changes, newest first'),
      changesBox,
    ),
    section('Shadow mode', shadowBox),
    section('Quality review', reviewBox),
    section('Revert a source, a window or a reconciliation run', revertForm(line)),
    el(
      'p',
      {},
      'Erasures, each system’s confirmation and webhooks held for an erased person: ',
      link('#/erasures', 'Erasures'),
      '.',
    ),
  );
  const loadFlags = async (list?: Flag[]) => {
    const [data, changes] = await Promise.all([
      list ?? get('/v1/flags').then((f) => f.data),
      get('/v1/flags/changes', { query: { limit: 20 } }),
    ]);
    flagBox.replaceChildren(flagsTable(data, admin, line, () => loadFlags()));
    changesBox.replaceChildren(
      table(
        'Flag changes, newest first',
        ['When', 'Flag', 'From', 'To', 'By', 'Reason'],
        changes.data.map((c) => [when(c.changed_at), c.name, c.from ?? 'default', c.to, c.actor, c.reason ?? '']),
        'no flag changed yet',
      ),
    );
  };
  const loadShadow = async () => {
    const report = await get('/v1/shadow/report');
    shadowBox.replaceChildren(shadowReport(report.data, flags.data));
  };
  const loadReviews = async () => {
    const open = await get('/v1/quality/reviews', { query: { status: 'open', limit: 50 } });
    reviewBox.replaceChildren(reviewsTable(open.data, line, loadReviews));
  };
  await Promise.all([loadFlags(flags.data), loadShadow(), loadReviews()]);
}

/**
 * Whether the key may set flags. There is no "who am I" route; listing API keys is admin-only, so
 * a 403 there means not an admin (the server still checks on PUT).
 */
export async function isAdmin(): Promise<boolean> {
  try {
    await get('/v1/api-keys', { query: { limit: 1 } });
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return false;
    throw err;
  }
}

function flagsTable(flags: Flag[], admin: boolean, line: HTMLElement, reload: () => Promise<void>): HTMLElement {
  const headers = ['Flag', 'Value', 'Default', 'What it does', 'Last set'];
  if (admin) headers.push('Set to');
  return table(
    'Runtime flags',
    headers,
    flags.map((f) => {
      const row: Child[] = [
        el('code', {}, f.name),
        badge(f.value),
        f.default,
        f.about,
        f.updated_at ? el('span', {}, when(f.updated_at), f.updated_by ? ` by ${f.updated_by}` : '') : 'never',
      ];
      if (admin) row.push(flagForm(f, line, reload));
      return row;
    }),
    'no flags',
  );
}

/** A value select, an optional reason and Set; the answer goes to the page's status line. */
function flagForm(f: Flag, line: HTMLElement, reload: () => Promise<void>): HTMLElement {
  const id = `flag-${f.name.replace(/[^a-z0-9]+/gi, '-')}`;
  const select = el(
    'select',
    { id: `${id}-value`, 'data-flag': f.name, 'aria-label': `Value of ${f.name}` },
    ...f.values.map((v) => el('option', { value: v, selected: v === f.value }, v)),
  );
  // aria-label, not a visually hidden <label>: an absolutely positioned label inside the
  // scrolling table box would widen the page on a phone.
  const reason = el('input', {
    id: `${id}-reason`,
    type: 'text',
    maxlength: '500',
    placeholder: 'reason',
    'aria-label': `Reason for changing ${f.name}`,
  });
  const form = el(
    'form',
    { class: 'flag-form', 'data-flag': f.name },
    select,
    reason,
    el('button', { class: 'small' }, 'Set'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = select.value;
    const body = reason.value.trim() ? { value, reason: reason.value.trim() } : { value };
    put('/v1/flags/{id}', { params: { id: f.name }, body })
      .then((r) => {
        const released = r.released ? ` (held writes: ${r.released.sent} sent, ${r.released.dropped} dropped)` : '';
        say(line, r.changed ? `${f.name} is now ${r.value}${released}.` : `${f.name} was already ${r.value}.`);
        return reload();
      })
      .catch((err: unknown) =>
        say(line, err instanceof ApiError ? `Flag not set: ${err.message}` : errorText(err), true),
      );
  });
  return form;
}

/** Per system in shadow mode: the report's sentences, then the fields' counts. */
function shadowReport(reports: Schemas['ShadowReport'][], flags: Flag[]): HTMLElement {
  const shadowed = flags.filter((f) => f.name.startsWith('writeback.') && f.value === 'shadow').map((f) => f.name);
  const intro = el(
    'p',
    {},
    shadowed.length
      ? `In shadow mode now: ${shadowed.map((n) => n.slice('writeback.'.length)).join(', ')}. `
      : 'No system is in shadow mode now. ',
    'Writes held in shadow mode are recorded, not sent; setting the flag back to on sends them, off drops them.',
  );
  if (reports.length === 0) return el('div', {}, intro, el('p', { class: 'muted' }, 'No writes held.'));
  return el(
    'div',
    {},
    intro,
    ...reports.map((r) =>
      el(
        'div',
        { class: 'shadow-system', 'data-system': r.target },
        el('h3', {}, `${r.target}: ${r.writes} write(s) held for ${r.contacts} contact(s)`),
        el('ul', {}, ...r.lines.map((l) => el('li', {}, l))),
        table(
          `${r.target}: contacts per field the held writes would change`,
          ['Field', 'Contacts'],
          r.fields.map((f) => [f.field, String(f.contacts)]),
        ),
      ),
    ),
  );
}

function reviewsTable(rows: Review[], line: HTMLElement, reload: () => Promise<void>): HTMLElement {
  const decide = (r: Review, decision: 'approve' | 'reject', b: HTMLButtonElement) => {
    b.disabled = true;
    post('/v1/quality/reviews/{id}', { params: { id: r.id }, body: { decision } })
      .then(() => reload())
      .then(() =>
        say(
          line,
          decision === 'approve'
            ? `Approved: ${r.field} set to the held value as a new change.`
            : `Rejected: ${r.field} keeps its value.`,
        ),
      )
      .catch((err: unknown) => {
        b.disabled = false;
        say(line, err instanceof ApiError ? `Not decided: ${err.message}` : errorText(err), true);
      });
  };
  const value = (v: string | null) => v ?? el('span', { class: 'muted' }, 'empty');
  return table(
    'Changes held by a quality rule, waiting for a decision',
    ['Held', 'Customer', 'Field', 'Current value', 'Held value', 'Rule', 'Why', 'From', 'Decide'],
    rows.map((r) => {
      const yes: HTMLButtonElement = button('Approve', () => decide(r, 'approve', yes), {
        class: 'small',
        'data-decision': 'approve',
        'data-review': r.id,
        'aria-label': `Approve held ${r.field} ${r.new_value ?? ''}`,
      });
      const no: HTMLButtonElement = button('Reject', () => decide(r, 'reject', no), {
        class: 'secondary small',
        'data-decision': 'reject',
        'data-review': r.id,
        'aria-label': `Reject held ${r.field} ${r.new_value ?? ''}`,
      });
      return [
        when(r.created_at),
        customerLink(r.customer_id),
        r.field.replaceAll('_', ' '),
        value(r.old_value),
        value(r.new_value),
        el('code', {}, r.rule),
        r.reason,
        r.source_system,
        el('span', { class: 'actions' }, yes, no),
      ];
    }),
    'nothing waiting',
  );
}

/**
 * Revert beyond one customer's history: a reconciliation run's heals, everything one source wrote
 * (optionally in a window), or a window of changes for some customers. Always a dry run first
 * (revert.ts), applied on confirmation; the server checks the role (run: operator; source, window: admin).
 */
function revertForm(line: HTMLElement): HTMLElement {
  const field = (id: string, label: string, input: HTMLElement) =>
    el('div', { class: 'field', id: `${id}-field` }, el('label', { for: id }, label), input);
  const kind = el(
    'select',
    { id: 'revert-kind' },
    el('option', { value: 'run' }, 'a reconciliation run’s heals'),
    el('option', { value: 'source' }, 'everything one source wrote'),
    el('option', { value: 'customers' }, 'a window of changes for some customers'),
  );
  const run = el('input', { id: 'revert-run', type: 'text', placeholder: 'run_…', spellcheck: 'false' });
  const source = el('input', { id: 'revert-source', type: 'text', placeholder: 'hubspot', spellcheck: 'false' });
  const customers = el('input', { id: 'revert-customers', type: 'text', placeholder: 'cus_…, cus_…' });
  const since = el('input', { id: 'revert-since', type: 'datetime-local' });
  const until = el('input', { id: 'revert-until', type: 'datetime-local' });
  const fields = {
    run: field('revert-run', 'Run id', run),
    source: field('revert-source', 'Source system', source),
    customers: field('revert-customers', 'Customer ids (comma-separated)', customers),
    since: field('revert-since', 'Since (optional for a source)', since),
    until: field('revert-until', 'Until (optional)', until),
  };
  const show = () => {
    fields.run.hidden = kind.value !== 'run';
    fields.source.hidden = kind.value !== 'source';
    fields.customers.hidden = kind.value !== 'customers';
    fields.since.hidden = fields.until.hidden = kind.value === 'run';
  };
  kind.addEventListener('change', show);
  show();
  const panel = el('div', { id: 'revert-panel', class: 'revert-panel', 'aria-live': 'polite', hidden: true });
  const go = el('button', { id: 'revert-dry-run' }, 'Dry run');
  const form = el(
    'form',
    { class: 'revert-form', id: 'revert-form' },
    field('revert-kind', 'Revert', kind),
    ...Object.values(fields),
    go,
  );
  const iso = (v: string) => (v ? new Date(v).toISOString() : undefined);
  const windowOf = () => {
    const w: { since?: string; until?: string } = {};
    const a = iso(since.value);
    const b = iso(until.value);
    if (a) w.since = a;
    if (b) w.until = b;
    return w;
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    let target: Target | null = null;
    if (kind.value === 'run' && run.value.trim()) target = { run: run.value.trim() };
    if (kind.value === 'source' && source.value.trim()) target = { source: source.value.trim(), ...windowOf() };
    const ids = customers.value
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    if (kind.value === 'customers' && ids.length > 0) target = { customers: ids, ...windowOf() };
    if (!target) return say(line, 'Say what to revert first (a run id, a source, or customer ids).', true);
    say(line, '');
    void showRevert(panel, target, go, (message) => say(line, message));
  });
  return el(
    'div',
    {},
    el(
      'p',
      { class: 'sub' },
      'One change or one event is reverted from the customer’s history. Here: always a dry run first; ' +
        'applying needs an operator key for a run, an admin key for a source or a window.',
    ),
    form,
    panel,
  );
}
