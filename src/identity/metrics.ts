import { decodePair } from './blocking.ts';

export interface PairwiseMetrics {
  true_pairs: number;
  predicted_pairs: number;
  true_positives: number;
  precision: number;
  recall: number;
  f1: number;
}

// Pairs inside a group, counting only pairs across different sources when sources are given
// (linkage): (total^2 - sum of per-source counts^2) / 2.
function pairsIn(members: readonly number[], sources: readonly string[] | undefined): number {
  if (!sources) return (members.length * (members.length - 1)) / 2;
  const perSource = new Map<string, number>();
  for (const i of members) perSource.set(sources[i]!, (perSource.get(sources[i]!) ?? 0) + 1);
  let sq = 0;
  for (const c of perSource.values()) sq += c * c;
  return (members.length * members.length - sq) / 2;
}

function groupBy<K>(n: number, keyOf: (i: number) => K): Map<K, number[]> {
  const groups = new Map<K, number[]>();
  for (let i = 0; i < n; i++) {
    const k = keyOf(i);
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  }
  return groups;
}

/**
 * Pairwise precision/recall/F1 of a clustering against known entity ids (records with an empty
 * entity id count as their own entity).
 */
export function pairwiseMetrics(
  clusterOf: ArrayLike<number>,
  entityOf: readonly string[],
  sources?: readonly string[],
): PairwiseMetrics {
  const n = entityOf.length;
  const entity = (i: number): string => (entityOf[i] === '' ? `\u0000${i}` : entityOf[i]!);
  const sum = (groups: Map<unknown, number[]>): number =>
    [...groups.values()].reduce((s, g) => s + pairsIn(g, sources), 0);
  const true_pairs = sum(groupBy(n, entity));
  const predicted_pairs = sum(groupBy(n, (i) => clusterOf[i]!));
  const true_positives = sum(groupBy(n, (i) => `${clusterOf[i]}\u0000${entity(i)}`));
  const precision = predicted_pairs === 0 ? 1 : true_positives / predicted_pairs;
  const recall = true_pairs === 0 ? 1 : true_positives / true_pairs;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { true_pairs, predicted_pairs, true_positives, precision, recall, f1 };
}

/** Share of true pairs that blocking kept as candidates. */
export function blockingRecall(
  candidateCodes: Float64Array,
  entityOf: readonly string[],
  sources?: readonly string[],
): number {
  const n = entityOf.length;
  let kept = 0;
  for (const code of candidateCodes) {
    const [i, j] = decodePair(code, n);
    if (entityOf[i] !== '' && entityOf[i] === entityOf[j]) kept++;
  }
  const truth = pairwiseMetrics(
    new Int32Array(n).map((_, i) => i),
    entityOf,
    sources,
  ).true_pairs;
  return truth === 0 ? 1 : kept / truth;
}
