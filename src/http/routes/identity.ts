import { decideReview, unmerge } from '../../flows/merge.ts';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { listLinks } from '../../customers/customer-store.ts';
import { toCustomer } from '../../canonical/customer.ts';
import type { Database, ReviewItemsTable, ReviewKind, ReviewStatus } from '../../db/schema.ts';
import { HearthError } from '../../errors.ts';
import { listReviewItems, type ReviewDecision } from '../../identity/review-store.ts';
import type { AppDeps } from '../deps.ts';
import { requireRole } from '../auth.ts';
import { linkView } from '../views.ts';
import { idParam, op, page, pageQuery } from '../schemas.ts';

const KINDS: ReviewKind[] = ['match', 'household_suggestion', 'address_quarantine', 'system_duplicate'];
const STATUSES: ReviewStatus[] = ['pending', 'linked', 'not_a_match'];
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The review queue (uncertain matches, household suggestions) and unmerge. */
export function registerIdentityRoutes(app: FastifyInstance, deps: AppDeps): void {
  const db = deps.hdb.db;
  const now = deps.now ?? Date.now;
  app.get<{ Querystring: { kind?: ReviewKind; status?: ReviewStatus; limit: number; after?: string } }>(
    '/review',
    {
      schema: op({
        summary: 'Review queue: uncertain matches (both records and the score explanation) and household suggestions',
        tags: ['identity'],
        querystring: pageQuery({
          kind: { type: 'string', enum: KINDS },
          status: { type: 'string', enum: STATUSES, default: 'pending' },
        }),
        ok: page('ReviewItem'),
      }),
    },
    async (req) => {
      const rows = await listReviewItems(db, {
        kind: req.query.kind,
        status: req.query.status,
        after: req.query.after,
        limit: req.query.limit,
      });
      const data = await Promise.all(rows.map((r) => reviewView(db, r)));
      return { data, next_after: rows.length === req.query.limit ? rows.at(-1)!.id : null };
    },
  );
  app.post<{ Params: { id: string }; Body: { decision: ReviewDecision } }>(
    '/review/:id',
    {
      schema: op({
        ok: 'ReviewItem',
        role: true,
        errors: ['conflict'],
        summary:
          'Decide a review item (operator): `link` merges the pair ' +
          '(a household suggestion is recorded as confirmed); `not_a_match` closes it',
        tags: ['identity'],
        params: idParam,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { decision: { type: 'string', enum: ['link', 'not_a_match'] } },
          required: ['decision'],
        },
      }),
    },
    async (req) => {
      requireRole(req.principal!, 'operator');
      const item = await decideReview(db, req.params.id, req.body.decision, `operator:${req.principal!.key_id}`, now());
      return reviewView(db, item);
    },
  );
  app.post<{ Params: { id: string } }>(
    '/customers/:id/unmerge',
    {
      schema: op({
        summary:
          'Undo the merge of this (merged) customer: both records and their crosswalk entries are restored (operator)',
        tags: ['identity'],
        params: idParam,
        ok: 'UnmergeResult',
        role: true,
        errors: ['conflict'],
      }),
    },
    async (req) => {
      requireRole(req.principal!, 'operator');
      const exists = await db.selectFrom('customers').select('id').where('id', '=', req.params.id).executeTakeFirst();
      if (!exists) throw new HearthError('not_found', `customer ${req.params.id} not found`);
      const out = await unmerge(db, req.params.id, { actor: `operator:${req.principal!.key_id}`, now: now() });
      return {
        unmerge_id: out.unmerge_id,
        merge_id: out.merge_id,
        kept_fields: out.kept_fields,
        points_returned: out.points_returned,
        customers: [toCustomer(out.survivor), toCustomer(out.restored)],
      };
    },
  );
}

async function reviewView(db: Kysely<Database>, r: ReviewItemsTable) {
  const ids = JSON.parse(r.customer_ids) as string[];
  const customers = await Promise.all(
    ids.map(async (id) => {
      const row = await db.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirst();
      return row
        ? { ...toCustomer(row), source_records: (await listLinks(db, id)).map(linkView) }
        : { id, missing: true };
    }),
  );
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    score: r.score,
    customers,
    explanation: r.explanation ? (JSON.parse(r.explanation) as unknown) : null,
    source_system: r.source_system,
    event_id: r.event_id,
    merge_id: r.merge_id,
    decided_by: r.decided_by,
    decided_at: iso(r.decided_at),
    created_at: iso(r.created_at),
  };
}
