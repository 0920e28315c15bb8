import type { z } from 'zod';
import type { ColumnSpec, CrmField, OrderField } from '../canonical/export-columns.ts';

export type { ExportFormat } from '../canonical/export-columns.ts';
import type { BillingField, OwnedField } from '../canonical/fields.ts';
import type { Connector, HouseholdSource } from '../canonical/types.ts';
import type { Logger } from '../log.ts';
import type { FetchLike } from './common/http.ts';
import type { TokenStore } from './common/credentials-store.ts';
import type { DoctorCheck, DoctorContext } from './common/doctor-check.ts';
import type { StreamDeps, StreamSubscriber } from './common/stream.ts';
import type { Eraser } from './erasure.ts';

/** What a connector factory may be handed by the process that wires it. */
export interface ConnectorDeps {
  logger: Logger;
  now?: (() => number) | undefined;
  fetch?: FetchLike | undefined;
  /** The processes' shared connector tokens (`hearth serve`); absent: each credential keeps its token in memory. */
  tokens?: TokenStore | undefined;
}

/** How a CRM's households are read (config `households`, passed through as the connector needs it). */
export interface HouseholdReadOptions {
  opt_in_property: string;
  hubspot_mode: 'company' | 'contact_labels';
  head_labels: readonly string[];
  member_labels: readonly string[];
}

/**
 * Everything Hearth knows about one external system, in one value. Adding a connector is a folder
 * exporting one of these plus one line in `registry.ts`: config validation, ownership defaults,
 * which systems can be pulled, reconciled, written back to or audited, the job targets, log
 * redaction and the console's lists all come from the registered descriptors.
 */
export interface ConnectorDescriptor<N extends string = string, C = unknown> {
  /** The config key under `connectors:` and the system name in the crosswalk. */
  name: N;
  /** zod schema of `connectors.<name>` (defaults applied; secrets via ${ENV}). */
  config: z.ZodType<C>;
  /** Default precedence per owned field: lower wins (the API writer ranks at 20). */
  ownership?: Partial<Record<OwnedField | BillingField, number>>;
  capabilities: {
    /** Verifies and parses webhooks at `POST /webhooks/<name>`. */
    ingress?: boolean;
    /** A CRM that takes `crm.address_write` and `crm.fields_write` (write-back, reconciliation heals). */
    writeback?: boolean;
    /** Paged contact reads (`hearth sync pull`, reconciliation). */
    pull?: boolean;
    /** Receives household claims (`idp.claims_push`). */
    idp?: boolean;
  };
  /** The job targets this connector serves for its config (default: its name when it delivers jobs). */
  targets?(cfg: C): string[];
  /** Contact fields a household read needs besides the opt-in property. */
  household_fields?: readonly string[];
  /** Household reads, when the CRM can be the authority for households. */
  households?(cfg: C, o: HouseholdReadOptions, deps: ConnectorDeps): HouseholdSource;
  /** The system keeps one street line: reconciliation compares line 2 folded into line 1. */
  single_street_line?: boolean;
  /** Request headers carrying its signatures (redacted from logs). */
  signature_headers?: readonly string[];
  /** CSV export formats the audit and backfills read. */
  exports?: { contacts?: readonly ColumnSpec<CrmField>[]; orders?: readonly ColumnSpec<OrderField>[] };
  create(cfg: C, deps: ConnectorDeps): Connector;
  /** Deletes (or anonymises) a person in the system: `erasure.delete` jobs (DELETE /v1/customers/:id). */
  erase?(cfg: C, deps: ConnectorDeps): Eraser;
  /** Long-running subscriptions `hearth serve` keeps open (Salesforce CDC); none when not enabled in config. */
  streams?(cfg: C, deps: StreamDeps): StreamSubscriber[];
  /** `hearth doctor`: checks the configuration against the live system (reach, credentials, scopes...). */
  doctor?(cfg: C, ctx: DoctorContext, deps: ConnectorDeps): Promise<DoctorCheck[]>;
}

/** Ties a descriptor's name and config type together (a typed identity function). */
export function defineConnector<N extends string, C>(d: ConnectorDescriptor<N, C>): ConnectorDescriptor<N, C> {
  return d;
}
