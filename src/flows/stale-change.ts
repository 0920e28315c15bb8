import type { CanonicalContact, CanonicalEvent } from '../canonical/types.ts';
import { linkKey, type BatchState } from './batch-state.ts';

type ContactUpdate = Extract<CanonicalEvent, { type: 'contact.updated' }>;

/**
 * Crosswalk snapshot keys of the vendor versions last applied from a record (not vendor
 * properties): one per canonical field, `hearth:version:<field>`. The bare `hearth:version` is
 * what earlier releases kept for the whole record; it still counts for a field with no key yet.
 */
const VERSION_KEY = 'hearth:version';
const fieldKey = (field: string) => `${VERSION_KEY}:${field}`;

/** The fields an event changes: those it carries only to identify the record have no version. */
function carried(ev: ContactUpdate): (keyof CanonicalContact)[] {
  return (Object.keys(ev.contact) as (keyof CanonicalContact)[]).filter(
    (f) => ev.contact[f] !== undefined && !ev.unchanged?.includes(f),
  );
}

/**
 * Vendors that deliver out of order (Stripe, Zendesk) version each change. A field is stale when
 * a newer version of that field was already applied from the same record: the change is applied
 * without its stale fields, and not at all when every field it carries is stale. Per field, not
 * per record, because Zendesk sends one event per changed attribute: an older name change that
 * arrives after a newer phone change still applies.
 */
export function freshChange(state: BatchState, ev: ContactUpdate): ContactUpdate | null {
  const version = ev.version;
  const snapshot = state.links.get(linkKey(ev.source, ev.external_id))?.snapshot;
  if (version === undefined || !snapshot) return ev;
  const fields = carried(ev);
  const stale = fields.filter((f) => {
    const seen = snapshot[fieldKey(f)] ?? snapshot[VERSION_KEY];
    return seen != null && Number(seen) > version;
  });
  if (stale.length === 0) return ev;
  if (stale.length === fields.length) return null;
  const contact = { ...ev.contact };
  for (const f of stale) delete contact[f];
  return { ...ev, contact };
}

/** Remembers the version of an applied change, per field it carried, in the record's crosswalk snapshot. */
export function rememberVersion(state: BatchState, ev: ContactUpdate): void {
  const key = linkKey(ev.source, ev.external_id);
  const link = state.links.get(key);
  if (ev.version === undefined || !link) return;
  const versions = Object.fromEntries(carried(ev).map((f) => [fieldKey(f), String(ev.version)]));
  link.snapshot = { ...(link.snapshot ?? {}), ...versions };
  state.dirtyLinks.add(key);
}
