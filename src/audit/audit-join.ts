import type { CrmIndex } from './crm-reader.ts';
import type { OrderFold } from './orders-reader.ts';
import { createAddressComparer } from './address-compare.ts';
import { monthsBetween } from './order-date.ts';
import { displayAddress, isEmptyAddress, unpackAddress } from './packed-address.ts';
import { comparePhones } from './phone-compare.ts';
import {
  DRIFT_FIELDS,
  FINDING_KINDS,
  type CrmContact,
  type DriftField,
  type FieldDrift,
  type Finding,
  type FindingKind,
  type LatestOrder,
  type OrderRef,
} from './types.ts';

export interface JoinResult {
  findings: Finding[];
  counts: Record<FindingKind, number>;
  drift: Record<DriftField, FieldDrift>;
  joinedCustomers: number;
  /** Of those, joined through Hearth's crosswalk (another email than the CRM's). */
  joinedByCrosswalk: number;
}

export interface JoinOptions {
  /** The audit's "now": stale-address ages are measured up to it. */
  asOf: number;
  /** Hearth's crosswalk (order email -> CRM record id), when the audit may use it. */
  crosswalk?: Map<string, string>;
}

/**
 * Joins CRM contacts and latest orders by normalised email and classifies each difference.
 * Every CRM record sharing an email is compared on its own (each is a copy some reader uses).
 */
export function auditJoin(crm: CrmIndex, orders: OrderFold, opts: JoinOptions): JoinResult {
  const state = newState(opts);
  for (const [email, first] of crm.byEmail) {
    if (first.next) addDuplicate(state, email, first);
    const order = orders.latest.get(email);
    if (!order) continue;
    state.joined++;
    for (let c: CrmContact | undefined = first; c; c = c.next) compareContact(state, email, c, order);
  }
  const byId = opts.crosswalk?.size ? contactsById(crm) : null;
  for (const [email, order] of orders.latest) {
    if (crm.byEmail.has(email)) continue;
    // Not under this email, but Hearth knows the person and their CRM record: compare with it.
    const linked = byId?.get(opts.crosswalk!.get(email) ?? '');
    if (linked) {
      state.joined++;
      state.joinedByCrosswalk++;
      compareContact(state, email, linked, order);
      continue;
    }
    add(state, 'missing_in_crm', email, null, {
      field: 'contact',
      crm_value: null,
      observed_value: displayAddress(order.address),
      order: orderRef(order),
      differing: [],
      format_only: [],
      months_since_order: monthsBetween(order.createdAt, opts.asOf),
    });
  }
  return {
    findings: state.findings,
    counts: state.counts,
    drift: rates(state.tally),
    joinedCustomers: state.joined,
    joinedByCrosswalk: state.joinedByCrosswalk,
  };
}

function contactsById(crm: CrmIndex): Map<string, CrmContact> {
  const out = new Map<string, CrmContact>();
  for (const first of crm.byEmail.values()) for (let c: CrmContact | undefined = first; c; c = c.next) out.set(c.id, c);
  return out;
}

interface JoinState {
  asOf: number;
  findings: Finding[];
  counts: Record<FindingKind, number>;
  tally: Record<DriftField, { compared: number; drifted: number }>;
  joined: number;
  joinedByCrosswalk: number;
  compareAddress: ReturnType<typeof createAddressComparer>;
}

function newState(opts: JoinOptions): JoinState {
  return {
    asOf: opts.asOf,
    findings: [],
    counts: Object.fromEntries(FINDING_KINDS.map((k) => [k, 0])) as Record<FindingKind, number>,
    tally: Object.fromEntries(DRIFT_FIELDS.map((f) => [f, { compared: 0, drifted: 0 }])) as JoinState['tally'],
    joined: 0,
    joinedByCrosswalk: 0,
    compareAddress: createAddressComparer(),
  };
}

function add(
  state: JoinState,
  kind: FindingKind,
  email: string,
  crmId: string | null,
  evidence: Finding['evidence'],
): void {
  state.counts[kind]++;
  state.findings.push({ kind, email, crm_id: crmId, evidence });
}

function addDuplicate(state: JoinState, email: string, first: CrmContact): void {
  const ids: string[] = [];
  for (let c: CrmContact | undefined = first; c; c = c.next) ids.push(c.id);
  add(state, 'duplicate_contact', email, first.id, {
    field: 'contact',
    crm_value: null,
    observed_value: null,
    order: null,
    differing: [],
    format_only: [],
    months_since_order: null,
    crm_ids: ids,
  });
}

function compareContact(state: JoinState, email: string, contact: CrmContact, order: LatestOrder): void {
  compareAddressOf(state, email, contact, order);
  if (contact.phone && order.phone) comparePhoneOf(state, email, contact, order);
}

const ADDRESS_FIELDS: readonly DriftField[] = DRIFT_FIELDS.filter((f) => f !== 'phone');

function compareAddressOf(state: JoinState, email: string, contact: CrmContact, order: LatestOrder): void {
  if (isEmptyAddress(order.address)) return; // nothing shipped (digital goods, pickup): no evidence
  countCompared(state, ADDRESS_FIELDS);
  if (isEmptyAddress(contact.address)) {
    state.tally.address.drifted++;
    add(state, 'missing_address', email, contact.id, addressEvidence(state, contact, order, ['address'], []));
    return;
  }
  const outcome = state.compareAddress(contact.address, order.address);
  if (outcome.verdict === 'same') return;
  if (outcome.verdict === 'format_only') {
    add(state, 'format_only', email, contact.id, addressEvidence(state, contact, order, [], outcome.format_only));
    return;
  }
  state.tally.address.drifted++;
  for (const part of outcome.differing) if (part in state.tally) state.tally[part as DriftField].drifted++;
  add(
    state,
    'stale_address',
    email,
    contact.id,
    addressEvidence(state, contact, order, outcome.differing, outcome.format_only),
  );
}

function addressEvidence(
  state: JoinState,
  contact: CrmContact,
  order: LatestOrder,
  differing: string[],
  formatOnly: string[],
): Finding['evidence'] {
  const crmValue = isEmptyAddress(contact.address) ? null : displayAddress(contact.address);
  return {
    field: 'address',
    crm_value: crmValue,
    observed_value: displayAddress(order.address),
    order: orderRef(order),
    differing,
    format_only: formatOnly,
    months_since_order: monthsBetween(order.createdAt, state.asOf),
  };
}

function comparePhoneOf(state: JoinState, email: string, contact: CrmContact, order: LatestOrder): void {
  state.tally.phone.compared++;
  const p = comparePhones(contact.phone, order.phone, () => unpackAddress(order.address).country ?? '');
  if (p.verdict === 'same') return;
  const base = {
    field: 'phone' as const,
    crm_value: contact.phone,
    observed_value: order.phone,
    order: orderRef(order),
    months_since_order: monthsBetween(order.createdAt, state.asOf),
  };
  if (p.verdict === 'format_only') {
    add(state, 'format_only', email, contact.id, { ...base, differing: [], format_only: ['phone'] });
    return;
  }
  state.tally.phone.drifted++;
  add(state, 'phone_mismatch', email, contact.id, {
    ...base,
    differing: ['phone'],
    format_only: [],
    crm_e164: p.crm_e164,
    observed_e164: p.observed_e164,
  });
}

function countCompared(state: JoinState, fields: readonly DriftField[]): void {
  for (const f of fields) state.tally[f].compared++;
}

function orderRef(order: LatestOrder): OrderRef {
  return { name: order.name, id: order.id || null, created_at: new Date(order.createdAt).toISOString() };
}

function rates(tally: JoinState['tally']): Record<DriftField, FieldDrift> {
  const out = {} as Record<DriftField, FieldDrift>;
  for (const f of DRIFT_FIELDS) {
    const { compared, drifted } = tally[f];
    out[f] = { compared, drifted, rate: compared === 0 ? 0 : Math.round((drifted / compared) * 1e6) / 1e6 };
  }
  return out;
}
