import { open, rename, unlink, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';
import { HearthError, isHearthError } from '../errors.ts';
import { validateBands } from './bands.ts';
import { describeColumns, isCanonicalField, resolveColumns } from './columns.ts';
import { DEFAULT_MATCH_CONFIG, matchRecords, type MatchConfig, type MatchResult } from './engine.ts';
import { blockingRecall, pairwiseMetrics, type PairwiseMetrics } from './metrics.ts';
import { CANONICAL_FIELDS, type CanonicalField, type PersonRecord } from './types.ts';

export interface MatchIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  isTTY: boolean;
}

const HELP = `Usage: hearth match INPUT.csv --out CLUSTERS.csv [options]

Identity resolution over a CSV file: finds records of the same person and writes one row per
input record: record_id,cluster_id,match_probability (cluster_id is the id of the cluster's
first record; match_probability is the strongest auto-link of the record, empty for singletons).

Options:
  --out FILE             output CSV (written to a temporary file, renamed when complete)
  --link FILE            link INPUT.csv against FILE: only pairs across the two files are
                         compared, and a cluster holds at most one record from each file
  --id-column COL        column holding the record id (default: id, record_id or rec_id)
  --map FIELD=COL        read canonical FIELD from column COL (repeatable). Fields:
                         ${CANONICAL_FIELDS.join(' ')}
                         With --map, only the mapped columns are read; without it, fields
                         are found by name or a common alias (surname, suburb, postcode,
                         state, address_1 ...). national_id is read only when mapped.
                         The columns used are printed on stderr (and in --json).
  --pairs FILE           also write scored pairs in the auto and review bands with the
                         per-field explanation (record_a,record_b,match_probability,band,explain)
  --truth-column COL     known entity id column: print pairwise precision/recall/F1
  --truth-pattern RE     take the entity id from the truth column with this regular expression
                         (its first group), e.g. 'rec-(\\d+)' for FEBRL's rec-552-dup-3
  --country CC           country for phone numbers without a country code (default US)
  --p-auto P             auto-link threshold (default ${DEFAULT_MATCH_CONFIG.bands.p_auto})
  --p-review P           review threshold (default ${DEFAULT_MATCH_CONFIG.bands.p_review})
  --json                 print the summary as JSON on stdout
  --help                 show this help

national_id (e.g. --map national_id=soc_sec_id) is compared like any field (exact / one / two
edits) and counts as a strong identifier for the chaining guard.
`;

const OPTIONS = {
  out: { type: 'string' },
  link: { type: 'string' },
  'id-column': { type: 'string' },
  map: { type: 'string', multiple: true },
  pairs: { type: 'string' },
  'truth-column': { type: 'string' },
  'truth-pattern': { type: 'string' },
  country: { type: 'string' },
  'p-auto': { type: 'string' },
  'p-review': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

interface Options {
  inputs: string[];
  out: string;
  pairsOut: string | undefined;
  idColumn: string | undefined;
  truthColumn: string | undefined;
  truthPattern: RegExp | undefined;
  map: Map<CanonicalField, string>;
  config: MatchConfig;
  json: boolean;
}

/** `hearth match`: exit 0 on success, 2 on bad input (one line on stderr, no output file). */
export async function runMatchCommand(argv: string[], io: MatchIo): Promise<number> {
  const temps: string[] = [];
  try {
    const parsed = parseFlags(argv);
    if (parsed === 'help') {
      io.stdout.write(HELP);
      return 0;
    }
    const started = performance.now();
    const progress = io.isTTY ? progressBar(io.stderr) : undefined;
    const { records, truth, columns } = await readInputs(parsed);
    if (!parsed.json) io.stderr.write(columns.map((c) => `columns ${c.file}: ${c.fields.join(' ')}\n`).join(''));
    const result = matchRecords(records, { ...parsed.config, ...(progress ? { onProgress: progress } : {}) });
    if (progress) io.stderr.write('\r\x1b[K');
    temps.push(`${parsed.out}.${process.pid}.tmp`);
    await writeFile(temps[0]!, clustersCsv(records, result));
    if (parsed.pairsOut) {
      temps.push(`${parsed.pairsOut}.${process.pid}.tmp`);
      await writeFile(temps[1]!, pairsCsv(records, result));
    }
    await rename(temps[0]!, parsed.out);
    if (parsed.pairsOut) await rename(temps[1]!, parsed.pairsOut);
    temps.length = 0;
    const summary = summarize(result, performance.now() - started, truth && evaluate(result, truth, records, parsed));
    if (parsed.json) io.stdout.write(`${JSON.stringify({ columns, ...summary })}\n`);
    else io.stderr.write(formatSummary(summary));
    return 0;
  } catch (err) {
    await Promise.all(temps.map((t) => unlink(t).catch(() => {})));
    if (isHearthError(err)) {
      io.stderr.write(`hearth match: ${err.message}\n`);
      return 2;
    }
    io.stderr.write(`hearth match: ${(err as Error).message.split('\n')[0]}\n`);
    return 1;
  }
}

function invalid(message: string): HearthError {
  return new HearthError('invalid_input', message);
}

function parseFlags(argv: string[]): Options | 'help' {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (err) {
    throw invalid((err as Error).message.split('\n')[0]!);
  }
  if (values.help) return 'help';
  if (positionals.length !== 1) throw invalid('expected exactly one INPUT.csv (see --help)');
  if (!values.out) throw invalid('--out CLUSTERS.csv is required');
  const bands = {
    p_auto: probability(values['p-auto'], DEFAULT_MATCH_CONFIG.bands.p_auto, '--p-auto'),
    p_review: probability(values['p-review'], DEFAULT_MATCH_CONFIG.bands.p_review, '--p-review'),
  };
  const bandProblem = validateBands(bands);
  if (bandProblem) throw invalid(bandProblem);
  return {
    inputs: values.link ? [positionals[0]!, values.link] : [positionals[0]!],
    out: values.out,
    pairsOut: values.pairs,
    idColumn: values['id-column'],
    truthColumn: values['truth-column'],
    truthPattern: truthPattern(values['truth-pattern'], values['truth-column']),
    map: parseMap(values.map ?? []),
    config: {
      ...DEFAULT_MATCH_CONFIG,
      bands,
      defaultCountry: values.country ?? 'US',
      linkAcrossSourcesOnly: values.link !== undefined,
    },
    json: values.json ?? false,
  };
}

function probability(raw: string | undefined, fallback: number, flag: string): number {
  if (raw === undefined) return fallback;
  const p = Number(raw);
  if (!Number.isFinite(p) || p < 0 || p > 1) throw invalid(`${flag} ${raw}: expected a probability between 0 and 1`);
  return p;
}

function truthPattern(raw: string | undefined, column: string | undefined): RegExp | undefined {
  if (raw === undefined) return undefined;
  if (column === undefined) throw invalid('--truth-pattern needs --truth-column');
  try {
    return new RegExp(raw);
  } catch (err) {
    throw invalid(`--truth-pattern ${raw}: ${(err as Error).message}`);
  }
}

/** The entity id inside a truth value; a value the pattern does not match stays its own entity. */
function entityOf(value: string, pattern: RegExp | undefined): string {
  if (!pattern) return value;
  const m = pattern.exec(value);
  return m ? (m[1] ?? m[0]) : value;
}

function parseMap(entries: string[]): Map<CanonicalField, string> {
  const map = new Map<CanonicalField, string>();
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const field = eq < 0 ? entry : entry.slice(0, eq);
    if (eq <= 0 || eq === entry.length - 1) throw invalid(`--map ${entry}: expected canonical=column`);
    if (!isCanonicalField(field))
      throw invalid(`--map ${entry}: unknown canonical field "${field}" (known: ${CANONICAL_FIELDS.join(', ')})`);
    map.set(field, entry.slice(eq + 1));
  }
  return map;
}

interface Inputs {
  records: PersonRecord[];
  truth: string[] | undefined;
  /** Per input file, the column read for each canonical field (`field=column`). */
  columns: { file: string; fields: string[] }[];
}

async function readInputs(opts: Options): Promise<Inputs> {
  const records: PersonRecord[] = [];
  const truth: string[] = [];
  const seen = new Map<string, string>();
  const columns: Inputs['columns'] = [];
  for (const [k, file] of opts.inputs.entries()) {
    const source = opts.inputs.length > 1 ? String(k) : undefined;
    const onLayout = (fields: string[]): number => columns.push({ file, fields });
    await readFile(file, opts, onLayout, (record, entity, line) => {
      const key = `${source ?? ''}\u0000${record.id}`;
      if (seen.has(key)) throw invalid(`${file}:${line}: duplicate record id "${record.id}"`);
      seen.set(key, file);
      records.push(source === undefined ? record : { ...record, source });
      truth.push(entityOf(entity, opts.truthPattern));
    });
  }
  return { records, truth: opts.truthColumn ? truth : undefined, columns };
}

type RowSink = (record: PersonRecord, entity: string, line: number) => void;

async function readFile(
  file: string,
  opts: Options,
  onLayout: (fields: string[]) => void,
  sink: RowSink,
): Promise<void> {
  // Open first: a stream's open error would otherwise surface outside the parsing loop.
  const handle = await open(file).catch((err: NodeJS.ErrnoException) => {
    throw invalid(describeReadError(file, err));
  });
  if ((await handle.stat()).isDirectory()) {
    await handle.close();
    throw invalid(describeReadError(file, Object.assign(new Error('is a directory'), { code: 'EISDIR' })));
  }
  const input = handle.createReadStream();
  input.on('error', () => {});
  const parser = input.pipe(parse({ trim: true, info: true, bom: true, skip_empty_lines: true }));
  let layout: ReturnType<typeof columnLayout> | undefined;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!layout) {
        layout = columnLayout(file, record, opts);
        onLayout(describeColumns(record, layout.fields));
        continue;
      }
      const id = record[layout.id] ?? '';
      if (id === '') throw invalid(`${file}:${info.lines}: empty record id`);
      const fields: PersonRecord['fields'] = {};
      for (const [field, index] of layout.fields) fields[field] = record[index];
      sink({ id, fields }, layout.truth === undefined ? '' : (record[layout.truth] ?? ''), info.lines);
    }
  } catch (err) {
    if (isHearthError(err)) throw err;
    throw invalid(describeReadError(file, err as NodeJS.ErrnoException & { lines?: number }));
  } finally {
    input.destroy();
    await handle.close().catch(() => {});
  }
  if (!layout) throw invalid(`${file}:1: empty file (expected a header row)`);
}

function describeReadError(file: string, err: NodeJS.ErrnoException & { lines?: number }): string {
  if (err.code === 'ENOENT') return `${file}: cannot read file (no such file)`;
  if (err.code === 'EACCES') return `${file}: cannot read file (permission denied)`;
  if (err.code === 'EISDIR') return `${file}: cannot read file (is a directory)`;
  const line = err.lines ?? '?';
  return `${file}:${line}: malformed CSV row: ${err.message.split('\n')[0]!.replace(/^Invalid Record Length: /, '')}`;
}

function columnLayout(
  file: string,
  header: string[],
  opts: Options,
): { id: number; truth: number | undefined; fields: Map<CanonicalField, number> } {
  const find = (name: string): number => header.findIndex((h) => h.trim().toLowerCase() === name.toLowerCase());
  const id =
    opts.idColumn !== undefined
      ? find(opts.idColumn)
      : (['id', 'record_id', 'rec_id'].map(find).find((i) => i >= 0) ?? -1);
  if (id < 0)
    throw invalid(
      `${file}:1: ${
        opts.idColumn ? `no id column "${opts.idColumn}"` : 'no id column (id, record_id or rec_id); use --id-column'
      }`,
    );
  const truth = opts.truthColumn === undefined ? undefined : find(opts.truthColumn);
  if (truth !== undefined && truth < 0) throw invalid(`${file}:1: no truth column "${opts.truthColumn}"`);
  const fields = resolveColumns(header, opts.map);
  if (typeof fields === 'string') throw invalid(`${file}:1: ${fields}`);
  if (fields.size === 0) throw invalid(`${file}:1: no column maps to a canonical field; use --map`);
  return { id, truth, fields };
}

function clustersCsv(records: PersonRecord[], result: MatchResult): string {
  const rows = records.map((r, i) => {
    const p = result.recordProbability[i]!;
    return [r.id, records[result.clusterOf[i]!]!.id, Number.isNaN(p) ? '' : p.toFixed(6)];
  });
  return stringify([['record_id', 'cluster_id', 'match_probability'], ...rows]);
}

function pairsCsv(records: PersonRecord[], result: MatchResult): string {
  const rows = result.pairs.map((p) => {
    const explain = result
      .explain(p.a, p.b)
      .fields.filter((f) => f.level !== 'missing')
      .map((f) => `${f.field}=${f.level}(${(f.weight + f.tf_adjustment).toFixed(2)})`);
    return [
      records[p.a]!.id,
      records[p.b]!.id,
      p.probability.toFixed(6),
      p.guarded ? 'review:chaining_guard' : p.band,
      explain.join(' '),
    ];
  });
  return stringify([['record_a', 'record_b', 'match_probability', 'band', 'explain'], ...rows]);
}

interface Evaluation extends PairwiseMetrics {
  blocking_recall: number;
}

function evaluate(result: MatchResult, truth: string[], records: PersonRecord[], opts: Options): Evaluation {
  const sources = opts.config.linkAcrossSourcesOnly ? records.map((r) => r.source ?? '') : undefined;
  return {
    ...pairwiseMetrics(result.clusterOf, truth, sources),
    blocking_recall: blockingRecall(result.candidateCodes, truth, sources),
  };
}

function summarize(result: MatchResult, elapsedMs: number, metrics: Evaluation | undefined): Record<string, unknown> {
  const count = (band: string): number => result.pairs.filter((p) => p.band === band).length;
  return {
    records: result.records,
    candidate_pairs: result.candidatePairs,
    training_pairs: result.blocking.trainingPairs,
    clusters: result.clusters,
    auto_pairs: count('auto'),
    review_pairs: count('review'),
    guarded_pairs: result.pairs.filter((p) => p.guarded).length,
    elapsed_ms: Math.round(elapsedMs),
    ...(metrics ? { metrics } : {}),
  };
}

function formatSummary(s: Record<string, unknown>): string {
  const lines = [
    `records ${s.records}, candidate pairs ${s.candidate_pairs}, clusters ${s.clusters}, ` +
      `auto ${s.auto_pairs}, review ${s.review_pairs}, elapsed ${s.elapsed_ms} ms`,
  ];
  const m = s.metrics as Evaluation | undefined;
  if (m)
    lines.push(
      `precision ${m.precision.toFixed(4)}, recall ${m.recall.toFixed(4)}, f1 ${m.f1.toFixed(4)}, ` +
        `blocking recall ${m.blocking_recall.toFixed(4)}`,
    );
  return `${lines.join('\n')}\n`;
}

function progressBar(stream: NodeJS.WritableStream): NonNullable<MatchConfig['onProgress']> {
  return (phase, done, total) => {
    const share = total === 0 ? 1 : done / total;
    const filled = Math.round(share * 30);
    stream.write(`\r[${'#'.repeat(filled)}${' '.repeat(30 - filled)}] ${phase} ${Math.round(share * 100)}%`);
  };
}
