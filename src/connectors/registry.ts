import type { ColumnSpec, CrmField, ExportFormat, OrderField } from '../canonical/export-columns.ts';
import { API_WRITER, BILLING_FIELDS, OWNED_FIELDS, type BillingField, type OwnedField } from '../canonical/fields.ts';
import type { Connector } from '../canonical/types.ts';
import { HearthError } from '../errors.ts';
import { auth0Connector } from './auth0/descriptor.ts';
import type { ConnectorDeps, ConnectorDescriptor } from './connector.ts';
import { withEraser } from './erasure.ts';
import { hubspotConnector } from './hubspot/descriptor.ts';
import { keycloakConnector } from './keycloak/descriptor.ts';
import { salesforceConnector } from './salesforce/descriptor.ts';
import { scimConnector } from './scim/descriptor.ts';
import { shopifyConnector } from './shopify/descriptor.ts';
import { stripeConnector } from './stripe/descriptor.ts';
import { webhookConnector } from './webhook/descriptor.ts';
import { zendeskConnector } from './zendesk/descriptor.ts';
import { zohoConnector } from './zoho/descriptor.ts';

/** The connectors Hearth ships: one line each. Order breaks ties in ownership precedence. */
export const CONNECTORS = [
  shopifyConnector,
  hubspotConnector,
  salesforceConnector,
  zohoConnector,
  webhookConnector,
  scimConnector,
  auth0Connector,
  keycloakConnector,
  stripeConnector,
  zendeskConnector,
] as const;

type Shipped = (typeof CONNECTORS)[number];
type ConfigOf<D> = D extends ConnectorDescriptor<string, infer C> ? C : never;

/** `connectors:` in config: each shipped connector's own block, typed by its descriptor. */
export type ConnectorsConfig = { [D in Shipped as D['name']]?: ConfigOf<D> } & Record<string, unknown>;

/** The descriptors one process runs with: the shipped list, plus any a test or plugin registers. */
export type Descriptors = readonly ConnectorDescriptor<string, any>[];

/** Live connectors of one process, by name. Unconfigured connectors are absent. */
export type ConnectorRegistry = Record<string, Connector | undefined>;

export type Capability = keyof ConnectorDescriptor['capabilities'];

export function descriptorOf(descriptors: Descriptors, name: string): ConnectorDescriptor<string, any> | undefined {
  return descriptors.find((d) => d.name === name);
}

/** Names of the connectors with a capability, in registry order. */
export function namesWith(descriptors: Descriptors, capability: Capability): string[] {
  return descriptors.filter((d) => d.capabilities[capability]).map((d) => d.name);
}

/**
 * Systems reconciliation can run over: any it can pull contacts from. It heals only through the
 * write-back CRM; elsewhere heal-policy drift waits for review.
 */
export function reconcilableNames(descriptors: Descriptors): string[] {
  return namesWith(descriptors, 'pull');
}

/** Creates a connector for every configured descriptor. */
export function buildConnectors(
  descriptors: Descriptors,
  cfg: Record<string, unknown>,
  deps: ConnectorDeps,
): ConnectorRegistry {
  const registry: ConnectorRegistry = {};
  for (const d of descriptors) {
    const block = cfg[d.name];
    if (block === undefined || block === null) continue;
    const c = d.create(block, deps);
    registry[d.name] = d.erase ? withEraser(c, d.erase(block, deps)) : c;
  }
  return registry;
}

/** Job targets the configured connectors serve: write-back and household CRMs, subscribers, IdPs. */
export function jobTargets(
  descriptors: Descriptors,
  config: {
    connectors: Record<string, unknown>;
    writeback: { crm: string | null };
    households: { source: string } | null;
  },
): string[] {
  const targets: string[] = [];
  const add = (t: string) => void (targets.includes(t) ? null : targets.push(t));
  if (config.writeback.crm) add(config.writeback.crm);
  // The household CRM receives opt-in write-backs.
  if (config.households) add(config.households.source);
  for (const d of descriptors) {
    const block = config.connectors[d.name];
    if (block === undefined || block === null) continue;
    if (d.targets) d.targets(block).forEach(add);
    else if (d.capabilities.idp) add(d.name);
    // Erasure jobs go to the connector by name, whatever else it serves.
    if (d.erase) add(d.name);
  }
  return targets;
}

/** Configured systems whose connector can erase a person (the erasure jobs' targets). */
export function erasableSystems(
  descriptors: Descriptors,
  cfg: Record<string, unknown>,
): { system: string; target: string }[] {
  return descriptors
    .filter((d) => d.erase && cfg[d.name] !== undefined && cfg[d.name] !== null)
    .map((d) => ({ system: d.name, target: d.name }));
}

/**
 * Default precedence per owned field from the descriptors' ranks (the API writer ranks 20). Billing
 * fields list only the descriptors that rank them (no API writer); unranked by any, they are absent.
 */
export function defaultOwnership(
  descriptors: Descriptors,
): Record<OwnedField, string[]> & Partial<Record<BillingField, string[]>> {
  const API_RANK = 20;
  const out = {} as Record<OwnedField, string[]> & Partial<Record<BillingField, string[]>>;
  const rankedBy = (field: OwnedField | BillingField) =>
    descriptors.flatMap((d, i) =>
      d.ownership?.[field] === undefined ? [] : [{ name: d.name, rank: d.ownership[field]!, i }],
    );
  const order = (r: { name: string; rank: number; i: number }[]) =>
    r.sort((a, b) => a.rank - b.rank || a.i - b.i).map((x) => x.name);
  for (const field of OWNED_FIELDS)
    out[field] = order([...rankedBy(field), { name: API_WRITER, rank: API_RANK, i: descriptors.length }]);
  for (const field of BILLING_FIELDS) {
    const ranked = rankedBy(field);
    if (ranked.length) out[field] = order(ranked);
  }
  return out;
}

/** Request headers that carry signatures: redacted from request logs. */
export function signatureHeaders(descriptors: Descriptors): string[] {
  return [...new Set(descriptors.flatMap((d) => d.signature_headers ?? []))];
}

/** A CRM contacts export format by connector name; a clear error lists the ones that exist. */
export function contactsExport(descriptors: Descriptors, name: string): ExportFormat<CrmField> {
  return exportOf(descriptors, name, 'contacts') as ExportFormat<CrmField>;
}

/** An orders export format by connector name. */
export function ordersExport(descriptors: Descriptors, name: string): ExportFormat<OrderField> {
  return exportOf(descriptors, name, 'orders') as ExportFormat<OrderField>;
}

/** Connector names that declare an export of this kind. */
export function exportNames(descriptors: Descriptors, kind: 'contacts' | 'orders'): string[] {
  return descriptors.filter((d) => d.exports?.[kind]).map((d) => d.name);
}

function exportOf(descriptors: Descriptors, name: string, kind: 'contacts' | 'orders'): ExportFormat<string> {
  const columns = descriptorOf(descriptors, name)?.exports?.[kind] as readonly ColumnSpec<string>[] | undefined;
  if (!columns)
    throw new HearthError(
      'invalid_input',
      `no ${kind} export format "${name}" (one of: ${exportNames(descriptors, kind).join(', ')})`,
    );
  return { name, columns };
}
