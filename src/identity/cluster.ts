/** A scored pair eligible for auto-linking. */
export interface LinkPair {
  a: number;
  b: number;
  probability: number;
}

export interface ClusterOptions {
  /** True when records a and b hold conflicting strong identifiers and must never share a cluster. */
  conflicts(a: number, b: number, direct: boolean): boolean;
  /** Largest cluster the guard will check member by member; larger merges go to review. */
  maxClusterSize: number;
}

export interface ClusterResult {
  /** Cluster root per record (the smallest record index in its cluster). */
  clusterOf: Int32Array;
  /** Auto pairs refused by the chaining guard: they belong in the review queue. */
  refused: LinkPair[];
}

/**
 * Connected components over auto-link pairs, strongest first, with an anti-chaining guard:
 * two clusters merge only if no member of one conflicts with a member of the other. Without the
 * guard, A~B and B~C would join A and C even when A and C are plainly different people.
 */
export function clusterPairs(n: number, pairs: readonly LinkPair[], opts: ClusterOptions): ClusterResult {
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  const members = new Map<number, number[]>();
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  const membersOf = (root: number): number[] => members.get(root) ?? [root];
  const refused: LinkPair[] = [];
  const ordered = [...pairs].sort((x, y) => y.probability - x.probability || x.a - y.a || x.b - y.b);
  for (const pair of ordered) {
    const ra = find(pair.a);
    const rb = find(pair.b);
    if (ra === rb) continue;
    const ma = membersOf(ra);
    const mb = membersOf(rb);
    if (ma.length + mb.length > opts.maxClusterSize || anyConflict(ma, mb, pair, opts.conflicts)) {
      refused.push(pair);
      continue;
    }
    const [root, child] = ra < rb ? [ra, rb] : [rb, ra];
    parent[child] = root;
    members.set(root, [...ma, ...mb]);
    members.delete(child);
  }
  const clusterOf = new Int32Array(n);
  for (let i = 0; i < n; i++) clusterOf[i] = find(i);
  return { clusterOf, refused };
}

function anyConflict(xs: number[], ys: number[], pair: LinkPair, conflicts: ClusterOptions['conflicts']): boolean {
  for (const x of xs) {
    for (const y of ys) {
      const direct = (x === pair.a && y === pair.b) || (x === pair.b && y === pair.a);
      if (conflicts(x, y, direct)) return true;
    }
  }
  return false;
}
