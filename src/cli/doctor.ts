import { diagnoseConfig, type DoctorCheck } from '../connectors/common/doctor.ts';
import { createLogger } from '../log.ts';
import { CONFIG_FLAGS, configFrom } from './config-flags.ts';
import { parseFlags, writeLine, type CliIo } from './io.ts';

const HELP = `Usage: hearth doctor [--config FILE] [--fix] [--json]

Checks every configured connector against its live system: reachability, credentials (a token
is obtained or renewed), granted scopes, the custom properties Hearth relies on (HubSpot
points_aggregation_opt_in; Salesforce NPSP fields), how webhooks or change events arrive, and
clock skew. Prints a table with what to fix; exits 1 when a check fails.
  --fix    create what can be created (HubSpot: the opt-in contact property), then report
  --json   one JSON object { ok, checks } instead of the table`;

export async function doctorCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(argv, { ...CONFIG_FLAGS, json: { type: 'boolean' }, fix: { type: 'boolean' } });
  if (values.help) return (writeLine(io.stdout, HELP), 0);
  const config = configFrom(values, io);
  const checks = await diagnoseConfig(config, { logger: createLogger('silent') }, values.fix === true);
  const ok = !checks.some((c) => c.status === 'fail');
  const minimisation = config.governance.minimisation;
  if (values.json) writeLine(io.stdout, JSON.stringify({ ok, checks, minimisation }));
  else writeLine(io.stdout, doctorTable(checks) + minimisationLines(minimisation));
  return ok ? 0 : 1;
}

/** A fixed-width table: connector, check, status, detail, fix. */
export function doctorTable(checks: readonly DoctorCheck[]): string {
  if (checks.length === 0) return 'no connector with checks is configured';
  const rows = [
    ['CONNECTOR', 'CHECK', 'STATUS', 'DETAIL', 'FIX'],
    ...checks.map((c) => [c.connector, c.check, c.status.toUpperCase(), c.detail, c.fix ?? '']),
  ];
  const widths = [0, 1, 2, 3].map((i) => Math.min(60, Math.max(...rows.map((r) => r[i]!.length))));
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i < 4 ? cell.padEnd(widths[i]!) : cell))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Which person fields may leave Hearth to which connector (config `governance.minimisation`). */
function minimisationLines(lists: Readonly<Record<string, readonly string[]>>): string {
  const names = Object.keys(lists).sort();
  if (names.length === 0) return '';
  return `\n\nFields that may leave Hearth (governance.minimisation; others receive every field):\n${names
    .map((n) => `  ${n}: ${lists[n]!.join(', ') || '(none)'}`)
    .join('\n')}`;
}
