import { readFileSync } from 'node:fs';
import { isHearthError } from './errors.ts';
import { userMessage } from './cli/errors.ts';
import type { CliIo, Command } from './cli/io.ts';

const HELP = `hearth — customer identity and household master-data hub

Usage: hearth <command> [options]

Commands:
  serve               API, webhooks, workers and console (--config FILE, --db URL)
  demo                serve plus simulated Shopify / HubSpot / loyalty systems and a workload
  demo-cdc            Salesforce contact changes arriving over the built-in CDC subscriber (simulated)
  migrate             apply database migrations
  jobs list|retry     outbound jobs and dead letters
  keys create|list    API keys with roles; keys rotate-data-key|status: data keys (encryption at rest)
  address normalize   one free-text address per stdin line -> JSON lines with a delivery-point key
  match               identity resolution over a CSV file
  identity train|models  fit the ingest match model over the stored customers (versioned)
  audit               cross-system drift audit from CRM + orders exports
  sync pull           import/refresh a CRM's contacts with their households (resumable)
  loyalty backfill|audit|expire  orders export into the ledger; redemptions outside the household; expiry
  reconcile           pull connected CRMs, measure drift per system and field, heal per policy
  config check|reference  validate a config file; print the config reference
  doctor              check each configured connector against its system: reach, credentials, scopes, properties
  revert              undo a change, an event, a source's writes or a window, as new changes (--dry-run)
  flags list|set|history  runtime feature flags (write-back on/off/shadow, pooling, auto-link, breakers)
  shadow report       what the writes held in shadow mode would change, per system
  erase               erase a customer here and queue its erasure in every connected system
  erasures            erasures and each system's confirmation (--retry re-drives refusals)
  retention run       enforce governance.retention once (serve does it on a schedule)

Run 'hearth <command> --help' for the options of a command.
Environment: HEARTH_API_KEY (bootstrap admin key), HEARTH_DB (database URL).`;

/** Commands load lazily: `hearth --help` touches no database or vendor SDK. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./cli/serve.ts')).serveCommand,
  demo: async () => (await import('./cli/demo.ts')).demoCommand,
  'demo-cdc': async () => (await import('./cli/demo-cdc.ts')).demoCdcCommand,
  migrate: async () => (await import('./cli/migrate.ts')).migrateCommand,
  jobs: async () => (await import('./cli/jobs.ts')).jobsCommand,
  keys: async () => (await import('./cli/keys.ts')).keysCommand,
  address: async () => (await import('./cli/address.ts')).addressCommand,
  match: async () => (await import('./cli/match.ts')).matchCommand,
  identity: async () => (await import('./cli/identity.ts')).identityCommand,
  audit: async () => (await import('./cli/audit.ts')).auditCommand,
  sync: async () => (await import('./cli/sync.ts')).syncCommand,
  reconcile: async () => (await import('./cli/reconcile.ts')).reconcileCommand,
  loyalty: async () => (await import('./cli/loyalty.ts')).loyaltyCommand,
  config: async () => (await import('./cli/config.ts')).configCommand,
  doctor: async () => (await import('./cli/doctor.ts')).doctorCommand,
  revert: async () => (await import('./cli/revert.ts')).revertCommand,
  flags: async () => (await import('./cli/flags.ts')).flagsCommand,
  shadow: async () => (await import('./cli/flags.ts')).shadowCommand,
  erase: async () => (await import('./cli/erasure.ts')).eraseCommand,
  erasures: async () => (await import('./cli/erasure.ts')).erasuresCommand,
  retention: async () => (await import('./cli/erasure.ts')).retentionCommand,
};

/** `hearth <version> (node <version>)`, the version from package.json. */
export function versionLine(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
  return `hearth ${pkg.version ?? 'unknown'} (node ${process.versions.node})`;
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${HELP}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    io.stdout.write(`${versionLine()}\n`);
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    io.stderr.write(`hearth: unknown command "${name}" (see hearth --help)\n`);
    return 2;
  }
  try {
    return await (await load())(rest, io);
  } catch (err) {
    io.stderr.write(`hearth ${name}: ${userMessage(err)}\n`);
    return isHearthError(err) && err.code !== 'internal' ? 2 : 1;
  }
}

if (import.meta.main) {
  const io: CliIo = {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    isTTY: Boolean(process.stderr.isTTY),
  };
  main(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}
