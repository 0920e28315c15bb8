/**
 * Versions of the webhook event shapes (docs/events-changelog.md; JSON Schemas in
 * src/governance/event-schemas.ts). Version numbers are global across event types: a change to any
 * shape takes the next number, so a subscriber pinned to N receives each event in the newest
 * version of its type that is <= N, exactly the shapes that were current when N was the latest.
 * Builders write the latest shape; `shapeEvent` steps it down to a subscriber's pin. Pure.
 */

export interface WebhookEvent {
  id: string;
  type: string;
  /** Absent only on events queued before versions existed (those are version 1). */
  schema_version?: number;
  created_at: string;
  data: unknown;
}

/** The newest version of any event type; the highest pin config accepts. */
export const LATEST_SCHEMA_VERSION = 2;

/** The versions each event type exists in, ascending. */
export const EVENT_VERSIONS: Readonly<Record<string, readonly number[]>> = {
  'address.corrected': [1],
  'customer.updated': [1],
  'order.enriched': [1, 2],
  'tier.changed': [1],
};

type Data = Record<string, unknown>;

/** `type@v` turns the data of version v into that of the version before it. */
const STEP_DOWN: Readonly<Record<string, (data: Data) => Data>> = {
  // v2: the order total in integer minor units (no float rounding), the tier with its basis.
  'order.enriched@2': (data) => {
    const order = Object.fromEntries(
      Object.entries((data.order ?? {}) as Data).map(([k, v]) =>
        k === 'total_minor' ? ['total', (v as number) / 100] : [k, v],
      ),
    );
    const tier = data.tier as { name: string } | null;
    return { ...data, order, tier: tier ? tier.name : null };
  },
};

/** The version of `type` a subscriber pinned to `pin` receives (no pin: the latest). */
export function versionFor(type: string, pin?: number): number {
  const versions = EVENT_VERSIONS[type] ?? [1];
  const fit = versions.filter((v) => v <= (pin ?? LATEST_SCHEMA_VERSION));
  return fit.length > 0 ? fit[fit.length - 1]! : versions[0]!;
}

/**
 * The event built in the latest shape of its type, as a subscriber pinned to `pin` receives it,
 * with its `schema_version`. Called when the job is built, not at delivery: the job payload is then
 * the exact body sent (shadow mode records it, minimisation and the audit of fields see it), it is
 * queued in the same transaction as the change, and a later re-pin does not rewrite queued events.
 */
export function shapeEvent<E extends WebhookEvent>(latest: E, pin?: number): E & { schema_version: number } {
  const versions = EVENT_VERSIONS[latest.type] ?? [1];
  const want = versionFor(latest.type, pin);
  let data = latest.data as Data;
  for (let i = versions.length - 1; i > 0 && versions[i]! > want; i--) {
    const step = STEP_DOWN[`${latest.type}@${versions[i]}`];
    if (step) data = step(data);
  }
  const { id, type, created_at, data: _latest, ...rest } = latest;
  return { ...rest, id, type, schema_version: want, created_at, data } as E & { schema_version: number };
}
