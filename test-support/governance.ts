import type { CanonicalContact, CanonicalEvent } from '../src/canonical/types.ts';
import type { HearthDb } from '../src/db/database.ts';
import { insertEvents } from '../src/engine/inbox.ts';
import { isQuiet } from '../src/engine/quiet.ts';
import type { Hearth } from '../src/runtime.ts';
import { ADMIN_KEY, eventually } from './harness.ts';

let seq = 0;

/** A contact change as a CRM reports it (canonical, straight into the inbox), with HubSpot-named properties. */
export function contactUpdate(source: string, externalId: string, contact: CanonicalContact): CanonicalEvent {
  const props: [string, string | null | undefined][] = [
    ['firstname', contact.given_name],
    ['lastname', contact.family_name],
    ['email', contact.email],
    ['phone', contact.phone],
    ['address', contact.address?.line1],
    ['city', contact.address?.city],
    ['state', contact.address?.region],
    ['zip', contact.address?.postal_code],
    ['country', contact.address?.country],
  ];
  return {
    type: 'contact.updated',
    source,
    external_id: externalId,
    contact,
    // The snapshot completes a partial address (flows/contact-update.ts), so the properties come along.
    vendor_fields: Object.fromEntries(props.filter(([, v]) => v !== undefined)) as Record<string, string | null>,
    origin_is_hearth: false,
    occurred_at: Date.now(),
  };
}

/** Stores events in the inbox in one transaction (as a verified webhook would) and waits until applied. */
export async function ingest(hearth: Hearth, hdb: HearthDb, events: CanonicalEvent[]): Promise<void> {
  const now = Date.now();
  await hdb.db.transaction().execute((trx) =>
    insertEvents(
      trx,
      events[0]!.source,
      events.map((event) => ({ delivery_id: `gov-${now}-${seq++}`, event })),
      now,
    ),
  );
  hearth.workers?.wake();
  await eventually(() => isQuiet(hdb.db), 15_000, 'inbox and outbox settled');
}

/** A `/v1` call with a key (the bootstrap admin key by default). */
export async function call(
  hearth: Hearth,
  method: 'GET' | 'POST' | 'PUT',
  url: string,
  body?: unknown,
  key = ADMIN_KEY,
) {
  const res = await hearth.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}` },
    ...(body === undefined ? {} : { payload: body as object }),
  });
  return { status: res.statusCode, body: res.json() as any };
}

/** An API key of a role, made through the API. */
export async function keyOf(hearth: Hearth, role: 'operator' | 'readonly'): Promise<string> {
  const r = await call(hearth, 'POST', '/v1/api-keys', { name: `gov-${role}`, role });
  return r.body.key as string;
}
