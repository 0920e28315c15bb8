/**
 * Runtime feature flags: what may be switched while Hearth runs, the values each takes and the
 * default when no one has set it. Pure; the store is flag-store.ts.
 *
 * - `writeback.<connector>`: `on` sends its jobs, `off` holds them queued, `shadow` records what
 *   would be sent without sending (governance/shadow.ts).
 * - `writeback.<connector>.<flow>`: the same for one flow of that connector (`address`, `fields`,
 *   `opt_in`, `claims`, `profile`, `events`); `inherit` (the default) follows the connector's flag.
 * - `households.pooling`: `off` ignores household membership changes (no new pooling; a pull re-syncs).
 * - `identity.auto_link`: `off` leaves new source records unlinked (no matching at ingest).
 * - `reconcile.heal`: `off` makes every heal policy report-only.
 * - `breaker.<source>`: `open` quarantines every change from that source (a quality rule tripped it).
 */
export type WritebackMode = 'on' | 'off' | 'shadow';

/** The flows a per-flow write-back flag can switch, by the job kinds each one sends. */
export const WRITEBACK_FLOWS: Readonly<Record<string, readonly string[]>> = {
  address: ['crm.address_write'],
  fields: ['crm.fields_write'],
  opt_in: ['crm.opt_in_write'],
  claims: ['idp.claims_push'],
  profile: ['profile.project'],
  events: ['webhook.deliver'],
};

const FLOW_OF_KIND = new Map(Object.entries(WRITEBACK_FLOWS).flatMap(([flow, kinds]) => kinds.map((k) => [k, flow])));

/** The flow a job kind belongs to, or null (reads and other kinds follow the connector's flag only). */
export function flowOfKind(kind: string): string | null {
  return FLOW_OF_KIND.get(kind) ?? null;
}

const PER_FLOW: FlagSpec = {
  values: ['inherit', 'on', 'off', 'shadow'],
  default: 'inherit',
  about: 'send, hold or shadow one flow of this connector (inherit: as the connector)',
};

export interface FlagSpec {
  values: readonly string[];
  default: string;
  about: string;
}

const ON_OFF = ['on', 'off'] as const;

export const FIXED_FLAGS: Record<string, FlagSpec> = {
  'households.pooling': {
    values: ON_OFF,
    default: 'on',
    about: 'household membership changes from the CRM apply (off: ignored; the next pull re-syncs)',
  },
  'identity.auto_link': { values: ON_OFF, default: 'on', about: 'new source records are matched at ingest' },
  'reconcile.heal': { values: ON_OFF, default: 'on', about: 'reconciliation heals per policy (off: report only)' },
};

const PER_CONNECTOR: Record<string, FlagSpec> = {
  writeback: { values: ['on', 'off', 'shadow'], default: 'on', about: 'send, hold or shadow this connector’s writes' },
  breaker: { values: ['closed', 'open'], default: 'closed', about: 'open: this source’s changes go to review' },
};

/** The spec of a flag name, or null when Hearth knows no such flag (or no such connector). */
export function flagSpec(name: string, connectors: readonly string[]): FlagSpec | null {
  if (FIXED_FLAGS[name]) return FIXED_FLAGS[name];
  const [prefix, connector, flow, ...rest] = name.split('.');
  if (rest.length > 0 || !prefix || !connector) return null;
  if (flow !== undefined)
    return prefix === 'writeback' && WRITEBACK_FLOWS[flow] && connectors.includes(connector) ? PER_FLOW : null;
  const spec = PER_CONNECTOR[prefix];
  return spec && connectors.includes(connector) ? spec : null;
}

/** Every flag name that exists for these connectors, for listing with defaults. */
export function knownFlags(connectors: readonly string[]): string[] {
  return [
    ...Object.keys(FIXED_FLAGS),
    ...Object.keys(PER_CONNECTOR).flatMap((p) => connectors.map((c) => `${p}.${c}`)),
    ...connectors.flatMap((c) => Object.keys(WRITEBACK_FLOWS).map((f) => `writeback.${c}.${f}`)),
  ].sort();
}

/** The problem with setting `name` to `value`, or null. */
export function flagProblem(name: string, value: string, connectors: readonly string[]): string | null {
  const spec = flagSpec(name, connectors);
  if (!spec) return `unknown flag ${name}; known: ${knownFlags(connectors).join(', ')}`;
  return spec.values.includes(value) ? null : `flag ${name} takes ${spec.values.join(' | ')}, not ${value}`;
}

/** The flags in force: set values over defaults. */
export class FlagSnapshot {
  readonly version: number;
  private readonly values: ReadonlyMap<string, string>;
  constructor(version: number, values: ReadonlyMap<string, string>) {
    this.version = version;
    this.values = values;
  }
  value(name: string): string {
    const set = this.values.get(name);
    if (set !== undefined) return set;
    if (name.split('.').length === 3) return PER_FLOW.default;
    return FIXED_FLAGS[name]?.default ?? PER_DEFAULT[name.split('.')[0]!] ?? 'on';
  }
  on(name: string): boolean {
    return this.value(name) === 'on';
  }
  /** The connector's write-back mode, or one flow's when `kind` names a job kind of a switched flow. */
  writeback(connector: string, kind?: string): WritebackMode {
    const flow = kind === undefined ? null : flowOfKind(kind);
    const own = flow === null ? 'inherit' : this.value(`writeback.${connector}.${flow}`);
    return (own === 'inherit' ? this.value(`writeback.${connector}`) : own) as WritebackMode;
  }
  /** The per-flow modes set for this connector (flows left at `inherit` are absent), by job kind. */
  flowModes(connector: string): Map<string, WritebackMode> {
    const out = new Map<string, WritebackMode>();
    for (const [flow, kinds] of Object.entries(WRITEBACK_FLOWS)) {
      const v = this.value(`writeback.${connector}.${flow}`);
      if (v !== 'inherit') for (const k of kinds) out.set(k, v as WritebackMode);
    }
    return out;
  }
  breakerOpen(source: string): boolean {
    return this.value(`breaker.${source}`) === 'open';
  }
}

const PER_DEFAULT: Record<string, string> = Object.fromEntries(
  Object.entries(PER_CONNECTOR).map(([p, s]) => [p, s.default]),
);

export const DEFAULT_FLAGS = new FlagSnapshot(0, new Map());
