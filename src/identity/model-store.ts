import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { CustomersTable, Database } from '../db/schema.ts';
import { HearthError } from '../errors.ts';
import { FIELD_COMPARATORS } from './comparators.ts';
import { DEFAULT_MATCH_CONFIG, matchRecords, type MatchConfig } from './engine.ts';
import type { FsModel, TermFrequencies } from './fellegi-sunter.ts';
import { defaultIngestModel, personOfRow } from './ingest-model.ts';
import type { PersonRecord } from './types.ts';

type Db = Kysely<Database>;

/**
 * The batch model, persisted: `hearth identity train` fits it over the stored customers (the same
 * engine as `hearth match`: blocking, EM without labels, term frequencies) and saves it as a new
 * version; matching at ingest scores with the latest version and records which one decided.
 */

/** One field of a stored model, by name: a field the code no longer has is ignored on load. */
interface StoredField {
  name: string;
  levels: string[];
  m: number[];
  u: number[];
  /** The common values' relative frequencies, the mean agreement, and the floor for the rest. */
  tf: { mean: number; floor: number; values: [string, number][] } | null;
}

export interface StoredModel {
  format: 1;
  lambda: number;
  iterations: number;
  fields: StoredField[];
}

/** Values kept per term-frequency field (the most frequent): rarer values share the floor. */
const TF_VALUES_KEPT = 5000;
/**
 * A value is stored only when at least this many customers have it: the model is not a copy of
 * anyone's name or street (an erased customer's rare name must not live on in it).
 */
export const TF_MIN_CUSTOMERS = 5;

/** The model as stored; `records` is the number of records it was fitted on. */
export function serializeModel(model: FsModel, records: number): StoredModel {
  return {
    format: 1,
    lambda: model.lambda,
    iterations: model.iterations,
    fields: FIELD_COMPARATORS.map((c, f) => ({
      name: c.name,
      levels: [...c.levels],
      m: model.m[f]!,
      u: model.u[f]!,
      tf: storedTf(model.tf[f] ?? null, records),
    })),
  };
}

function storedTf(tf: TermFrequencies | null, records: number): StoredField['tf'] {
  if (!tf || tf.freq.size === 0 || records <= 0) return null;
  const min = TF_MIN_CUSTOMERS / records;
  const values = [...tf.freq]
    .filter(([, p]) => p >= min)
    .sort((x, y) => y[1] - x[1])
    .slice(0, TF_VALUES_KEPT);
  // A value not kept is rarer than the rarest kept, and than TF_MIN_CUSTOMERS customers' share.
  const floor = Math.min(values.at(-1)?.[1] ?? min, min) / 2;
  return { mean: tf.meanAgreement, floor, values };
}

/**
 * A stored model over the current comparators: each field taken by name when its levels are the
 * same; a field added since (or whose levels changed) keeps the built-in ingest defaults.
 */
export function deserializeModel(stored: StoredModel): FsModel {
  const fallback = defaultIngestModel();
  const byName = new Map(stored.fields.map((x) => [x.name, x]));
  const fields = FIELD_COMPARATORS.map((c) => {
    const x = byName.get(c.name);
    return x && x.levels.length === c.levels.length && x.levels.every((l, i) => l === c.levels[i]) ? x : null;
  });
  return {
    lambda: stored.lambda,
    iterations: stored.iterations,
    m: fields.map((x, f) => x?.m ?? fallback.m[f]!),
    u: fields.map((x, f) => x?.u ?? fallback.u[f]!),
    tf: fields.map((x) => (x?.tf ? { freq: new Map(x.tf.values), meanAgreement: x.tf.mean, floor: x.tf.floor } : null)),
  };
}

/** The model matching at ingest uses, and the version recorded with its decisions (null: defaults). */
export interface IngestModel {
  version: number | null;
  model: FsModel;
}

export const DEFAULT_MODEL: IngestModel = { version: null, model: defaultIngestModel() };

// Parsed models by model_id (ids are unique across databases; a version number is not).
const parsed = new Map<string, FsModel>();

/** The latest stored model (one indexed read per call; parsed once per process), else the defaults. */
export async function latestModel(db: Db): Promise<IngestModel> {
  const row = await db
    .selectFrom('identity_models')
    .select(['version', 'model_id'])
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return DEFAULT_MODEL;
  let model = parsed.get(row.model_id);
  if (!model) {
    const { params } = await db
      .selectFrom('identity_models')
      .select('params')
      .where('version', '=', row.version)
      .executeTakeFirstOrThrow();
    model = deserializeModel(JSON.parse(params) as StoredModel);
    parsed.set(row.model_id, model);
  }
  return { version: Number(row.version), model };
}

/** Fewer candidate pairs than this and EM would return little more than its priors: no new version. */
export const MIN_TRAINING_PAIRS = 200;

export interface TrainOutcome {
  version: number;
  records: number;
  candidate_pairs: number;
  lambda: number;
  iterations: number;
  elapsed_ms: number;
}

/** Reads every live customer, a page at a time, as match input. */
async function storedPeople(db: Db): Promise<PersonRecord[]> {
  const out: PersonRecord[] = [];
  let after = '';
  for (;;) {
    const rows: CustomersTable[] = await db
      .selectFrom('customers')
      .selectAll()
      .where('id', '>', after)
      .where('merged_into', 'is', null)
      .orderBy('id')
      .limit(1000)
      .execute();
    if (rows.length === 0) return out;
    for (const r of rows) out.push({ id: r.id, fields: personOfRow(r) });
    after = rows.at(-1)!.id;
  }
}

/**
 * Fits the batch model over the stored customers and saves it as the next version. Partial: the
 * customers are those left after ingest linked its sure matches, so the match class EM sees is
 * the duplicates still unlinked (the prior share of matches comes out low, which is conservative).
 */
export async function trainIdentityModel(
  db: Db,
  opts: {
    now: number;
    trainedBy: string;
    defaultCountry?: string;
    config?: Partial<MatchConfig>;
    minPairs?: number;
  },
): Promise<TrainOutcome> {
  const started = performance.now();
  const people = await storedPeople(db);
  const result = matchRecords(people, {
    ...DEFAULT_MATCH_CONFIG,
    ...(opts.defaultCountry ? { defaultCountry: opts.defaultCountry } : {}),
    ...opts.config,
  });
  if (result.candidatePairs < (opts.minPairs ?? MIN_TRAINING_PAIRS))
    throw new HearthError(
      'invalid_input',
      `${people.length} customers give ${result.candidatePairs} candidate pairs, too few to fit a model ` +
        `(at least ${opts.minPairs ?? MIN_TRAINING_PAIRS}); ingest keeps its current model`,
    );
  const last = await db.selectFrom('identity_models').select('version').orderBy('version', 'desc').limit(1).execute();
  const version = Number(last[0]?.version ?? 0) + 1;
  await db
    .insertInto('identity_models')
    .values({
      version,
      model_id: randomUUID(),
      params: JSON.stringify(serializeModel(result.model, people.length)),
      records: people.length,
      candidate_pairs: result.candidatePairs,
      trained_by: opts.trainedBy,
      created_at: opts.now,
    })
    .execute();
  return {
    version,
    records: people.length,
    candidate_pairs: result.candidatePairs,
    lambda: result.model.lambda,
    iterations: result.model.iterations,
    elapsed_ms: Math.round(performance.now() - started),
  };
}

/** Stored versions, newest first (for `hearth identity models`). */
export async function listModels(
  db: Db,
): Promise<{ version: number; records: number; candidate_pairs: number; trained_by: string; created_at: number }[]> {
  const rows = await db
    .selectFrom('identity_models')
    .select(['version', 'records', 'candidate_pairs', 'trained_by', 'created_at'])
    .orderBy('version', 'desc')
    .execute();
  return rows.map((r) => ({ ...r, version: Number(r.version), created_at: Number(r.created_at) }));
}
