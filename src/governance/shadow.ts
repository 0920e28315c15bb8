import { ADDRESS_COLUMNS } from '../canonical/customer.ts';

/**
 * The canonical fields one outbound job would change at its system, from its kind and payload:
 * the address write is `address`, a fields write its fields, a webhook the fields its event names
 * (address columns folded into `address`), a profile projection `profile`.
 */
export function fieldsOfJob(kind: string, payload: unknown): string[] {
  const p = (payload ?? {}) as Record<string, unknown>;
  if (kind === 'crm.address_write') return ['address'];
  if (kind === 'crm.opt_in_write') return ['opt_in'];
  if (p.fields && typeof p.fields === 'object') return Object.keys(p.fields as object).sort();
  const event = (p.event ?? null) as { data?: { changed_fields?: unknown } } | null;
  const changed = event?.data?.changed_fields;
  if (Array.isArray(changed)) {
    const folded = changed.map((f) => ((ADDRESS_COLUMNS as readonly string[]).includes(String(f)) ? 'address' : f));
    return [...new Set(folded.map(String))].sort();
  }
  if (kind === 'profile.project') return ['profile'];
  return [kind];
}

export interface ShadowLine {
  field: string;
  contacts: number;
}

export interface ShadowReport {
  target: string;
  /** Distinct customers with at least one write held. */
  contacts: number;
  writes: number;
  fields: ShadowLine[];
  /** "1204 contacts would get a new address", one line per field. */
  lines: string[];
}

const PHRASE: Record<string, string> = {
  address: 'get a new address',
  phone: 'change phone',
  email: 'change e-mail',
  given_name: 'change given name',
  family_name: 'change family name',
  opt_in: 'change opt-in',
  profile: 'receive a new profile',
};

/** Diff report per system from the writes held in shadow (one row per write: target, customer, fields). */
export function shadowReport(
  rows: readonly { target: string; customer_id: string | null; job_key: string; fields: readonly string[] }[],
): ShadowReport[] {
  const byTarget = new Map<string, { keys: Set<string>; writes: number; fields: Map<string, Set<string>> }>();
  for (const r of rows) {
    const t = byTarget.get(r.target) ?? { keys: new Set(), writes: 0, fields: new Map() };
    const who = r.customer_id ?? r.job_key;
    t.keys.add(who);
    t.writes++;
    for (const f of r.fields) t.fields.set(f, (t.fields.get(f) ?? new Set()).add(who));
    byTarget.set(r.target, t);
  }
  return [...byTarget.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([target, t]) => {
      const fields = [...t.fields.entries()]
        .map(([field, who]) => ({ field, contacts: who.size }))
        .sort((a, b) => b.contacts - a.contacts || (a.field < b.field ? -1 : 1));
      return {
        target,
        contacts: t.keys.size,
        writes: t.writes,
        fields,
        lines: fields.map(
          (f) => `${f.contacts} contact${f.contacts === 1 ? '' : 's'} would ${PHRASE[f.field] ?? `change ${f.field}`}`,
        ),
      };
    });
}

/**
 * Leaving shadow: of the writes held per job key and kind only the newest matters, and only if
 * it differs from what was last delivered for that key (a stale or already-true write is dropped).
 * Returns the job ids to send; every other held job is dropped.
 */
export function toRelease(
  held: readonly { id: string; job_key: string; kind: string; payload: string }[],
  lastDelivered: ReadonlyMap<string, string>,
): Set<string> {
  // Webhook events too: a subscriber shadowed for a week gets each customer's latest event, not the week.
  const newest = new Map<string, (typeof held)[number]>();
  const send = new Set<string>();
  for (const j of [...held].sort((a, b) => (a.id < b.id ? -1 : 1))) newest.set(`${j.kind}\u0000${j.job_key}`, j);
  for (const [key, j] of newest) if (lastDelivered.get(key) !== j.payload) send.add(j.id);
  return send;
}
