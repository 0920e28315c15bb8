import type { CanonicalEvent } from '../canonical/types.ts';
import { linkKey, type BatchState } from './batch-state.ts';

type ContactUpdate = Extract<CanonicalEvent, { type: 'contact.updated' }>;

/** Crosswalk snapshot key of the vendor version last applied from a record (not a vendor property). */
const VERSION_KEY = 'hearth:version';

/**
 * Vendors that deliver out of order (Stripe) version each change: one older than the last
 * applied from the same record is stale and is not applied.
 */
export function isStaleChange(state: BatchState, ev: ContactUpdate): boolean {
  if (ev.version === undefined) return false;
  const seen = state.links.get(linkKey(ev.source, ev.external_id))?.snapshot?.[VERSION_KEY];
  return seen != null && Number(seen) > ev.version;
}

/** Remembers the version of an applied change in the record's crosswalk snapshot. */
export function rememberVersion(state: BatchState, ev: ContactUpdate): void {
  const link = state.links.get(linkKey(ev.source, ev.external_id));
  if (ev.version === undefined || !link) return;
  link.snapshot = { ...(link.snapshot ?? {}), [VERSION_KEY]: String(ev.version) };
  state.dirtyLinks.add(linkKey(ev.source, ev.external_id));
}
