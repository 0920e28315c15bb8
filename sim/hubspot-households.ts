import { createHmac } from 'node:crypto';
import { postQuietly } from './http.ts';

/** One association type on a pair, as HubSpot's v4 API reports it. */
export interface SimAssociationType {
  category: 'HUBSPOT_DEFINED' | 'USER_DEFINED';
  typeId: number;
  label: string | null;
}

/**
 * Companies and v4 associations for the HubSpot simulator: company-as-household (contact ->
 * company, primary and labelled) and contact <-> contact labelled pairs ("Head of household" /
 * "Household member"). Association changes are reported to Hearth as signed
 * `contact.associationChange` webhooks, as HubSpot sends them.
 */
export interface HubSpotHouseholdSim {
  createCompany(name: string): string;
  /** Associates a contact with a company (unlabelled 279; `primary` adds type 1; `label` a user-defined label). */
  associateCompany(contactId: string, companyId: string, o?: { primary?: boolean; label?: string }): void;
  /** Removes every association between the contact and the company. */
  dissociateCompany(contactId: string, companyId: string): void;
  /** A paired contact label: on the member's side the head is "Head of household", and the inverse. */
  labelHousehold(memberId: string, headId: string): void;
  associations(
    fromType: string,
    fromId: string,
    toType: string,
  ): { toObjectId: string; associationTypes: SimAssociationType[] }[];
}

/** A label definition on one direction of an object pair (`GET /crm/v4/associations/{from}/{to}/labels`). */
export interface SimLabel {
  typeId: number;
  label: string;
  name: string;
}

export interface HouseholdRoutes extends HubSpotHouseholdSim {
  /** User-defined association labels from `from` to `to` (object type names, e.g. contacts, companies). */
  labels(from: string, to: string): SimLabel[];
  /** Answers the household routes; undefined for any other path. */
  route(method: string, path: string, body: any): { status: number; body?: unknown } | undefined;
}

const LABEL_IDS: Record<string, number> = { 'Head of household': 12, 'Household member': 13, 'Primary contact': 14 };
const TYPES = {
  contact_company: 279,
  company_contact: 280,
  primary_contact_company: 1,
  primary_company_contact: 2,
  contact_contact: 449,
};
const BUILT_IN: Record<string, number[]> = {
  'contacts:companies': [TYPES.primary_contact_company, TYPES.contact_company],
  'companies:contacts': [TYPES.primary_company_contact, TYPES.company_contact],
  'contacts:contacts': [TYPES.contact_contact],
};
const TYPE_NAME: Record<string, string> = { contacts: '0-1', companies: '0-2' };

/** The portal's household labels exist from the start unless named in `missing_labels` (doctor --fix tests). */
const PRESET_PAIRS = [
  ['contacts', 'companies'],
  ['companies', 'contacts'],
  ['contacts', 'contacts'],
] as const;

export function createHouseholdRoutes(
  webhook: { url: string; client_secret: string; app_id: string } | undefined,
  missingLabels: readonly string[] = [],
): HouseholdRoutes {
  const definitions = new Map<string, SimLabel[]>(); // `${fromType}:${toType}`
  let nextTypeId = 100;
  const ids = { ...LABEL_IDS };
  for (const [from, to] of PRESET_PAIRS)
    definitions.set(
      `${from}:${to}`,
      Object.entries(LABEL_IDS)
        .filter(([l]) => !missingLabels.includes(l))
        .map(([l, typeId]) => ({ typeId, label: l, name: l.toLowerCase().replace(/\W+/g, '_') })),
    );
  const companies = new Map<string, { id: string; properties: Record<string, string | null>; createdAt: string }>();
  // `${fromType}:${fromId}:${toType}` -> toId -> types: one contact's associations are one lookup
  // (a flat map scanned per contact made a 20k-contact pull spend minutes inside the simulator).
  const assoc = new Map<string, Map<string, SimAssociationType[]>>();
  let nextCompany = 9001;
  let eventId = 500_000;
  const from = (ft: string, f: string, tt: string) => {
    const k = `${ft}:${f}:${tt}`;
    let m = assoc.get(k);
    if (!m) assoc.set(k, (m = new Map()));
    return m;
  };
  const put = (ft: string, f: string, tt: string, t: string, types: SimAssociationType[]) => {
    const m = from(ft, f, tt);
    const merged = [...(m.get(t) ?? [])];
    for (const ty of types)
      if (!merged.some((x) => x.typeId === ty.typeId && x.category === ty.category)) merged.push(ty);
    m.set(t, merged);
  };
  const label = (l: string): SimAssociationType => ({ category: 'USER_DEFINED', typeId: ids[l] ?? 99, label: l });
  const defs = (from: string, to: string) => definitions.get(`${from}:${to}`) ?? [];

  function emit(contactId: string, companyId: string, removed: boolean, primary: boolean): void {
    if (!webhook) return;
    const occurredAt = Date.now();
    const body = JSON.stringify([
      {
        eventId: eventId++,
        subscriptionId: 2346,
        portalId: 62515,
        appId: Number(webhook.app_id),
        occurredAt,
        subscriptionType: 'contact.associationChange',
        attemptNumber: 0,
        changeSource: 'CRM_UI',
        sourceId: 'userId:777',
        associationType: 'CONTACT_TO_COMPANY',
        fromObjectId: Number(contactId),
        toObjectId: Number(companyId),
        associationRemoved: removed,
        isPrimaryAssociation: primary,
      },
    ]);
    const ts = String(Date.now());
    const sig = createHmac('sha256', webhook.client_secret).update(`POST${webhook.url}${body}${ts}`).digest('base64');
    void postQuietly(
      webhook.url,
      { 'x-hubspot-signature-v3': sig, 'x-hubspot-request-timestamp': ts, 'user-agent': 'HubSpot Connect 2.0 (sim)' },
      body,
    );
  }

  const api: HubSpotHouseholdSim = {
    createCompany(name) {
      const id = String(nextCompany++);
      companies.set(id, { id, properties: { name, hs_object_id: id }, createdAt: new Date().toISOString() });
      return id;
    },
    associateCompany(contactId, companyId, o = {}) {
      const forward: SimAssociationType[] = [
        { category: 'HUBSPOT_DEFINED', typeId: TYPES.contact_company, label: null },
      ];
      const back: SimAssociationType[] = [{ category: 'HUBSPOT_DEFINED', typeId: TYPES.company_contact, label: null }];
      if (o.primary) {
        forward.unshift({ category: 'HUBSPOT_DEFINED', typeId: TYPES.primary_contact_company, label: 'Primary' });
        back.unshift({ category: 'HUBSPOT_DEFINED', typeId: TYPES.primary_company_contact, label: 'Primary' });
      }
      if (o.label) forward.push(label(o.label)), back.push(label(o.label));
      put('contacts', contactId, 'companies', companyId, forward);
      put('companies', companyId, 'contacts', contactId, back);
      emit(contactId, companyId, false, Boolean(o.primary));
    },
    dissociateCompany(contactId, companyId) {
      const toCompanies = from('contacts', contactId, 'companies');
      const had = toCompanies.get(companyId);
      toCompanies.delete(companyId);
      from('companies', companyId, 'contacts').delete(contactId);
      if (had)
        emit(
          contactId,
          companyId,
          true,
          had.some((t) => t.typeId === TYPES.primary_contact_company),
        );
    },
    labelHousehold(memberId, headId) {
      put('contacts', memberId, 'contacts', headId, [
        { category: 'HUBSPOT_DEFINED', typeId: TYPES.contact_contact, label: null },
        label('Head of household'),
      ]);
      put('contacts', headId, 'contacts', memberId, [
        { category: 'HUBSPOT_DEFINED', typeId: TYPES.contact_contact, label: null },
        label('Household member'),
      ]);
    },
    associations(fromType, fromId, toType) {
      const m = assoc.get(`${fromType}:${fromId}:${toType}`) ?? new Map<string, SimAssociationType[]>();
      return [...m].map(([toObjectId, associationTypes]) => ({ toObjectId, associationTypes }));
    },
  };

  function route(method: string, path: string, body: any): { status: number; body?: unknown } | undefined {
    const labelsPath = /^\/crm\/v4\/associations\/([\w-]+)\/([\w-]+)\/labels$/.exec(path);
    if (labelsPath) {
      const [from, to] = [normalType(labelsPath[1]!), normalType(labelsPath[2]!)];
      if (method === 'GET') return { status: 200, body: { results: labelTypes(from, to) } };
      if (method === 'POST') return createLabel(from, to, body);
    }
    const batchRead = /^\/crm\/v4\/associations\/([\w-]+)\/([\w-]+)\/batch\/read$/.exec(path);
    if (method === 'POST' && batchRead)
      return readAssociations(normalType(batchRead[1]!), normalType(batchRead[2]!), body);
    if (method === 'POST' && path === '/crm/v3/objects/companies/batch/read') return readCompanies(body);
    const list = /^\/crm\/v4\/objects\/([\w-]+)\/(\d+)\/associations\/([\w-]+)$/.exec(path);
    if (method === 'GET' && list)
      return {
        status: 200,
        body: { results: api.associations(normalType(list[1]!), list[2]!, normalType(list[3]!)).map(wire) },
      };
    return undefined;
  }

  /** The pair's HUBSPOT_DEFINED types and its user-defined labels, as HubSpot lists them. */
  function labelTypes(from: string, to: string): SimAssociationType[] {
    const builtIn = (BUILT_IN[`${from}:${to}`] ?? []).map((typeId) => ({
      category: 'HUBSPOT_DEFINED' as const,
      typeId,
      label: typeId <= 2 ? 'Primary' : null,
    }));
    const user = defs(from, to).map((d) => ({ category: 'USER_DEFINED' as const, typeId: d.typeId, label: d.label }));
    return [...builtIn, ...user];
  }

  /**
   * `POST .../labels` with `{ label, name, inverseLabel? }`: a label on the pair (both directions for
   * two object types), or a paired label (`inverseLabel`) whose two sides get a type id each.
   */
  function createLabel(from: string, to: string, body: any): { status: number; body: unknown } {
    const invalid = (message: string) => ({
      status: 400,
      body: { status: 'error', message, category: 'VALIDATION_ERROR' },
    });
    const text = typeof body?.label === 'string' ? body.label.trim() : '';
    const name = typeof body?.name === 'string' ? body.name : '';
    const inverse = typeof body?.inverseLabel === 'string' ? body.inverseLabel.trim() : null;
    if (!text || !/^[a-z0-9_]{1,100}$/.test(name)) return invalid('label and name (lowercase, digits, _) are required');
    const taken = (l: string) => defs(from, to).some((d) => d.label.toLowerCase() === l.toLowerCase());
    if (taken(text) || (inverse && taken(inverse))) return invalid(`An association label '${text}' already exists`);
    const add = (f: string, t: string, d: SimLabel) => definitions.set(`${f}:${t}`, [...defs(f, t), d]);
    const results: SimAssociationType[] = [];
    for (const [l, n] of inverse
      ? [
          [text, name],
          [inverse, `${name}_inverse`],
        ]
      : [[text, name]]) {
      const d = { typeId: nextTypeId++, label: l!, name: n! };
      ids[d.label] = d.typeId;
      add(from, to, d);
      if (from !== to) add(to, from, d);
      results.push({ category: 'USER_DEFINED', typeId: d.typeId, label: d.label });
    }
    return { status: 200, body: { results } };
  }

  function readAssociations(from: string, to: string, body: any) {
    const inputs: { id: string }[] = Array.isArray(body?.inputs) ? body.inputs : [];
    if (inputs.length > 1000)
      return { status: 400, body: { status: 'error', message: 'Too many inputs', category: 'VALIDATION_ERROR' } };
    const now = new Date().toISOString();
    const results = inputs
      .map((i) => ({ from: { id: String(i.id) }, to: api.associations(from, String(i.id), to).map(wire) }))
      .filter((r) => r.to.length > 0);
    return { status: 200, body: { status: 'COMPLETE', results, startedAt: now, completedAt: now } };
  }

  function readCompanies(body: any) {
    const inputs: { id: string }[] = Array.isArray(body?.inputs) ? body.inputs : [];
    const props: string[] = body?.properties?.length ? body.properties : ['name'];
    const now = new Date().toISOString();
    const results = inputs
      .map((i) => companies.get(String(i.id)))
      .filter((c) => c !== undefined)
      .map((c) => ({
        id: c.id,
        properties: Object.fromEntries(props.map((p) => [p, c.properties[p] ?? null])),
        createdAt: c.createdAt,
        updatedAt: c.createdAt,
        archived: false,
      }));
    return { status: 200, body: { status: 'COMPLETE', results, startedAt: now, completedAt: now } };
  }

  return { ...api, labels: defs, route };
}

// HubSpot accepts object type names or ids (`0-1`) in association paths.
function normalType(t: string): string {
  const byId = Object.entries(TYPE_NAME).find(([, id]) => id === t)?.[0];
  const name = byId ?? t.toLowerCase();
  return name === 'contact' ? 'contacts' : name === 'company' ? 'companies' : name;
}

// Object ids are numbers on the wire (int64).
const wire = (a: { toObjectId: string; associationTypes: SimAssociationType[] }) => ({
  toObjectId: Number(a.toObjectId),
  associationTypes: a.associationTypes,
});
