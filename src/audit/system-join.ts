import { compareAddresses } from '../address/index.ts';
import { createAddressComparer, type AddressOutcome } from './address-compare.ts';
import type { CrmIndex } from './crm-reader.ts';
import { displayAddress, isEmptyAddress, unpackAddress } from './packed-address.ts';
import { comparePhones } from './phone-compare.ts';
import type { SystemIndex, SystemRecord } from './system-reader.ts';
import { SYSTEM_FINDING_KINDS, type CrmContact, type SystemFinding, type SystemFindingKind } from './types.ts';

export interface SystemJoinResult {
  findings: SystemFinding[];
  counts: Record<SystemFindingKind, number>;
  joined: number;
  joinedByHearthId: number;
}

export interface SystemJoinOptions {
  /** Hearth customer id -> the audited CRM's record id (from Hearth's database, `--db`). */
  hearthIds?: Map<string, string> | undefined;
}

/**
 * Joins one extra system's records (Stripe customers, Zendesk users) to the CRM contacts by
 * normalised email, else by the Hearth id the record carries (Stripe `metadata.hearth_id`,
 * Zendesk `external_id`) when the CRM export has a Hearth ID column or Hearth's database maps
 * it, and classifies each difference in address, phone and name, and who is missing where.
 */
export function systemJoin(
  system: string,
  crm: CrmIndex,
  sys: SystemIndex,
  opts: SystemJoinOptions = {},
): SystemJoinResult {
  const state: State = {
    system,
    findings: [],
    counts: Object.fromEntries(SYSTEM_FINDING_KINDS.map((k) => [k, 0])) as Record<SystemFindingKind, number>,
    compareAddress: createAddressComparer(),
  };
  const byHearth = crmByHearthId(crm, opts.hearthIds);
  const matched = new Set<CrmContact>();
  let joinedByHearthId = 0;
  for (const [email, first] of sys.byEmail) {
    for (let r: SystemRecord | undefined = first; r; r = r.next) {
      let contact = crm.byEmail.get(email);
      if (!contact && r.hearthId) {
        contact = byHearth.get(r.hearthId);
        if (contact && !matched.has(contact)) joinedByHearthId++;
      }
      if (!contact) {
        add(state, 'missing_in_crm', email, null, r, contactEvidence(null, displayRecordAddress(r)));
        continue;
      }
      for (let c: CrmContact | undefined = contact; c; c = c.next) {
        matched.add(c);
        compareRecord(state, email, c, r);
      }
    }
  }
  let joined = 0;
  for (const [email, first] of crm.byEmail) {
    let any = false;
    for (let c: CrmContact | undefined = first; c && !any; c = c.next) any = matched.has(c);
    if (any) joined++;
    else add(state, 'missing_in_system', email, first.id, null, contactEvidence(displayCrmAddress(first), null));
  }
  return { findings: state.findings, counts: state.counts, joined, joinedByHearthId };
}

interface State {
  system: string;
  findings: SystemFinding[];
  counts: Record<SystemFindingKind, number>;
  compareAddress: ReturnType<typeof createAddressComparer>;
}

function crmByHearthId(crm: CrmIndex, hearthIds: Map<string, string> | undefined): Map<string, CrmContact> {
  const out = new Map<string, CrmContact>();
  const byId = hearthIds?.size ? new Map<string, CrmContact>() : null;
  for (const first of crm.byEmail.values())
    for (let c: CrmContact | undefined = first; c; c = c.next) {
      if (c.hearthId && !out.has(c.hearthId)) out.set(c.hearthId, c);
      byId?.set(c.id, c);
    }
  if (byId)
    for (const [hearthId, crmId] of hearthIds!) {
      const c = byId.get(crmId);
      if (c && !out.has(hearthId)) out.set(hearthId, c);
    }
  return out;
}

function add(
  state: State,
  kind: SystemFindingKind,
  email: string,
  crmId: string | null,
  record: SystemRecord | null,
  evidence: SystemFinding['evidence'],
): void {
  state.counts[kind]++;
  state.findings.push({
    system: state.system,
    kind,
    email,
    crm_id: crmId || null,
    system_id: record?.id || null,
    hearth_id: record?.hearthId || null,
    evidence,
  });
}

function contactEvidence(crmValue: string | null, systemValue: string | null): SystemFinding['evidence'] {
  return { field: 'contact', crm_value: crmValue, system_value: systemValue, differing: [], format_only: [] };
}

function displayCrmAddress(c: CrmContact): string | null {
  return isEmptyAddress(c.address) ? null : displayAddress(c.address);
}

function displayRecordAddress(r: SystemRecord): string | null {
  if (r.address && !isEmptyAddress(r.address)) return displayAddress(r.address);
  return r.addressLine || null;
}

function compareRecord(state: State, email: string, c: CrmContact, r: SystemRecord): void {
  compareAddressOf(state, email, c, r);
  if (c.phone && r.phone) comparePhoneOf(state, email, c, r);
  if (c.name && r.name) compareNameOf(state, email, c, r);
}

function compareAddressOf(state: State, email: string, c: CrmContact, r: SystemRecord): void {
  const observed = displayRecordAddress(r);
  if (!observed) return; // the system keeps no address for this person: nothing to compare
  const crmValue = displayCrmAddress(c);
  if (!crmValue) {
    add(state, 'missing_address', email, c.id, r, addressEvidence(null, observed, ['address'], []));
    return;
  }
  const outcome = r.address && !isEmptyAddress(r.address) ? state.compareAddress(c.address, r.address) : oneLine(c, r);
  if (outcome.verdict === 'same') return;
  const kind = outcome.verdict === 'format_only' ? 'format_only' : 'address_mismatch';
  add(state, kind, email, c.id, r, addressEvidence(crmValue, observed, outcome.differing, outcome.format_only));
}

/** A one-line address (Zendesk user field) against the CRM's fields, as delivery points. */
function oneLine(c: CrmContact, r: SystemRecord): AddressOutcome {
  if (loose(displayAddress(c.address)) === loose(r.addressLine))
    return { verdict: 'same', differing: [], format_only: [] };
  const cmp = compareAddresses(unpackAddress(c.address), r.addressLine);
  if (cmp.same_delivery_point) return { verdict: 'format_only', differing: [], format_only: ['address'] };
  return { verdict: 'drift', differing: cmp.differing, format_only: cmp.format_only };
}

function loose(v: string): string {
  return v.toUpperCase().replace(/[.,]/g, '').replace(/\s+/g, ' ').trim();
}

function addressEvidence(
  crm: string | null,
  system: string,
  differing: string[],
  formatOnly: string[],
): SystemFinding['evidence'] {
  return { field: 'address', crm_value: crm, system_value: system, differing, format_only: formatOnly };
}

function comparePhoneOf(state: State, email: string, c: CrmContact, r: SystemRecord): void {
  const p = comparePhones(c.phone, r.phone, () => unpackAddress(c.address).country ?? '');
  if (p.verdict === 'same') return;
  const base = { field: 'phone' as const, crm_value: c.phone, system_value: r.phone };
  if (p.verdict === 'format_only') {
    add(state, 'format_only', email, c.id, r, { ...base, differing: [], format_only: ['phone'] });
    return;
  }
  add(state, 'phone_mismatch', email, c.id, r, {
    ...base,
    differing: ['phone'],
    format_only: [],
    crm_e164: p.crm_e164,
    system_e164: p.observed_e164,
  });
}

function compareNameOf(state: State, email: string, c: CrmContact, r: SystemRecord): void {
  const crmName = c.name!;
  if (crmName === r.name) return;
  const verdict = compareNames(crmName, r.name);
  if (verdict === 'same') return;
  const base = { field: 'name' as const, crm_value: crmName, system_value: r.name };
  if (verdict === 'format_only')
    add(state, 'format_only', email, c.id, r, { ...base, differing: [], format_only: ['name'] });
  else add(state, 'name_mismatch', email, c.id, r, { ...base, differing: ['name'], format_only: [] });
}

/**
 * Names as people write them: case, accents, apostrophes, punctuation, spacing (`Annmarie`) and
 * word order (`Doe, Jane`) are format-only; different words are a mismatch.
 */
export function compareNames(a: string, b: string): 'same' | 'format_only' | 'mismatch' {
  if (a === b) return 'same';
  const x = nameWords(a);
  const y = nameWords(b);
  return x.join('') === y.join('') || [...x].sort().join(' ') === [...y].sort().join(' ') ? 'format_only' : 'mismatch';
}

function nameWords(v: string): string[] {
  return v
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/['\u2019]/g, '') // O'Neil = O’Neil = ONeil
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
    .split(' ')
    .filter(Boolean);
}
