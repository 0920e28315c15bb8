import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import * as core from './migrations/0001-core.ts';
import * as households from './migrations/0002-households.ts';
import * as identity from './migrations/0003-identity.ts';
import * as reconcile from './migrations/0004-reconcile.ts';
import * as loyalty from './migrations/0005-loyalty.ts';
import * as householdsMore from './migrations/0006-households-more.ts';
import * as billing from './migrations/0020-billing.ts';
import * as jobsSupersedes from './migrations/0040-jobs-supersedes.ts';
import * as changeLineage from './migrations/0041-change-lineage.ts';
import * as governance from './migrations/0050-governance.ts';
import * as connectorCursors from './migrations/0060-connector-cursors.ts';
import * as connectorTokens from './migrations/0075-connector-tokens.ts';
import * as erasure from './migrations/0080-erasure.ts';
import * as dataKeys from './migrations/0085-data-keys.ts';
import * as governanceIndex from './migrations/0090-governance-index.ts';
import * as identityModels from './migrations/0105-identity-models.ts';
import * as sourceLinksCustomerSystem from './migrations/0110-source-links-customer-system.ts';

/**
 * The one migration set, listed in code (no directory scanning): later migrations append here.
 * Issues that add tables add a file under migrations/ and one line below.
 */
const MIGRATIONS: Record<string, Migration> = {
  '0001-core': core,
  '0002-households': households,
  '0003-identity': identity,
  '0004-reconcile': reconcile,
  '0005-loyalty': loyalty,
  '0006-households-more': householdsMore,
  '0020-billing': billing,
  '0040-jobs-supersedes': jobsSupersedes,
  '0041-change-lineage': changeLineage,
  '0050-governance': governance,
  '0060-connector-cursors': connectorCursors,
  '0075-connector-tokens': connectorTokens,
  '0080-erasure': erasure,
  '0085-data-keys': dataKeys,
  '0090-governance-index': governanceIndex,
  '0105-identity-models': identityModels,
  '0110-source-links-customer-system': sourceLinksCustomerSystem,
};

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

export interface MigrateOutcome {
  applied: string[];
}

export async function migrateToLatest(db: Kysely<any>): Promise<MigrateOutcome> {
  const migrator = new Migrator({
    db,
    provider: new StaticProvider(),
    migrationTableName: 'hearth_migrations',
    migrationLockTableName: 'hearth_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}

export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: new StaticProvider(),
    migrationTableName: 'hearth_migrations',
    migrationLockTableName: 'hearth_migrations_lock',
  });
  const all = await migrator.getMigrations();
  return all.filter((m) => !m.executedAt).map((m) => m.name);
}
