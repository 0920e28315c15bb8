import type { FastifyInstance } from 'fastify';
import { billingOf, unlinkedAccounts } from '../../billing/billing-store.ts';
import { getCustomerRow } from '../../customers/customer-store.ts';
import { HearthError } from '../../errors.ts';
import { propagationStatus } from '../../flows/propagation-status.ts';
import type { AppDeps } from '../deps.ts';
import { idParam as sharedIdParam, op, page, pageOf, pageQuery } from '../schemas.ts';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const nullableString = { type: ['string', 'null'] } as const;
const address = {
  type: ['object', 'null'],
  properties: {
    line1: nullableString,
    line2: nullableString,
    city: nullableString,
    region: nullableString,
    postal_code: nullableString,
    country: nullableString,
  },
} as const;

const billingResponse = {
  type: 'object',
  required: ['customer_id', 'status', 'status_since', 'billing_address', 'subscriptions'],
  properties: {
    customer_id: { type: 'string' },
    status: { type: ['string', 'null'], enum: ['active', 'past_due', 'delinquent', 'canceled', null] },
    status_since: { type: ['string', 'null'], format: 'date-time' },
    billing_address: address,
    subscriptions: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          system: { type: 'string' },
          id: { type: 'string' },
          name: nullableString,
          status: { type: 'string' },
        },
      },
    },
  },
} as const;

const systemsResponse = {
  type: 'object',
  'x-not-a-list': true,
  required: ['customer_id', 'out_of_date', 'data'],
  properties: {
    customer_id: { type: 'string' },
    out_of_date: { type: 'array', items: { type: 'string' } },
    data: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          system: { type: 'string' },
          state: { type: 'string', enum: ['confirmed', 'pending', 'dead', 'review', 'no_record'] },
          kind: { type: 'string' },
          job_id: { type: 'string' },
          attempts: { type: 'integer' },
          last_error: nullableString,
          origin_at: { type: 'string', format: 'date-time' },
          done_at: { type: ['string', 'null'], format: 'date-time' },
        },
      },
    },
  },
} as const;

const unlinkedRecord = {
  type: 'object',
  properties: {
    system: { type: 'string' },
    external_id: { type: 'string' },
    email: nullableString,
    status: nullableString,
    updated_at: { type: 'string', format: 'date-time' },
  },
} as const;

/** This file's answers as shared components (referenced by name in the OpenAPI document). */
function addBillingSchemas(app: FastifyInstance): void {
  app.addSchema({ $id: 'CustomerBilling', title: 'CustomerBilling', ...billingResponse });
  app.addSchema({ $id: 'PropagationStatus', title: 'PropagationStatus', ...systemsResponse });
  app.addSchema({ $id: 'UnlinkedBillingRecord', title: 'UnlinkedBillingRecord', ...unlinkedRecord });
}

async function requireCustomer(deps: AppDeps, id: string): Promise<void> {
  if (!(await getCustomerRow(deps.hdb.db, id))) throw new HearthError('not_found', `customer ${id} not found`);
}

/** A customer's billing view and per-system propagation state; billing records awaiting a link. */
export function registerBillingRoutes(app: FastifyInstance, deps: AppDeps): void {
  const db = deps.hdb.db;
  addBillingSchemas(app);
  app.get<{ Params: { id: string } }>(
    '/customers/:id/billing',
    {
      schema: op({
        summary: 'Billing status (since when), billing address and subscriptions of a customer',
        tags: ['billing'],
        params: sharedIdParam,
        ok: 'CustomerBilling',
      }),
    },
    async (req) => {
      await requireCustomer(deps, req.params.id);
      const b = await billingOf(db, req.params.id);
      return { customer_id: req.params.id, ...b, status_since: iso(b.status_since) };
    },
  );
  app.get<{ Params: { id: string } }>(
    '/customers/:id/systems',
    {
      schema: op({
        summary:
          "Per system, whether the customer's latest values are confirmed there, pending, dead, refused " +
          'for review, or not written because the system has no record of the customer',
        tags: ['billing'],
        params: sharedIdParam,
        ok: 'PropagationStatus',
      }),
    },
    async (req) => {
      await requireCustomer(deps, req.params.id);
      const data = await propagationStatus(db, req.params.id);
      return {
        customer_id: req.params.id,
        // A system with no record of the customer holds nothing out of date.
        out_of_date: data.filter((s) => s.state !== 'confirmed' && s.state !== 'no_record').map((s) => s.system),
        data: data.map((s) => ({ ...s, origin_at: iso(s.origin_at), done_at: iso(s.done_at) })),
      };
    },
  );
  app.get<{ Querystring: { limit: number; after?: string } }>(
    '/billing/unlinked',
    {
      schema: op({
        summary: 'Billing records no customer could be linked to yet (kept for review, attached once linked)',
        tags: ['billing'],
        querystring: pageQuery(),
        ok: page('UnlinkedBillingRecord'),
      }),
    },
    async (req) => {
      // The cursor is `<system>:<external id>`, in that order.
      const key = (a: { system: string; external_id: string }) => `${a.system}:${a.external_id}`;
      const all = (await unlinkedAccounts(db)).sort((x, y) => key(x).localeCompare(key(y)));
      const rows = all.filter((a) => !req.query.after || key(a) > req.query.after).slice(0, req.query.limit);
      const view = (a: (typeof rows)[number]) => ({
        system: a.system,
        external_id: a.external_id,
        email: a.email,
        status: a.status,
        updated_at: iso(a.updated_at),
      });
      return pageOf(rows, req.query.limit, view, key);
    },
  );
}
