import { loyaltySettings } from '../../config/derive.ts';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { namesWith } from '../../connectors/registry.ts';
import { getCustomerRow } from '../../customers/customer-store.ts';
import { normalizeEmail } from '../../canonical/customer.ts';
import type { Database } from '../../db/schema.ts';
import { HearthError } from '../../errors.ts';
import { claimsOf } from '../../flows/identity-push.ts';
import type { AppDeps } from '../deps.ts';
import { op } from '../schemas.ts';

type Db = Kysely<Database>;
interface ClaimsQuery {
  subject?: string;
  email?: string;
  system?: string;
}

/**
 * `GET /v1/identity/claims`: the household claims an Auth0 Action or a Keycloak mapper puts into
 * tokens. The subject is the IdP user id Hearth learned when it pushed to that user (crosswalk);
 * with both `subject` and `email`, the e-mail is the fallback for a login Hearth has not met yet.
 */
export function registerIdentityClaimsRoutes(app: FastifyInstance, deps: AppDeps): void {
  const loyalty = loyaltySettings(deps.config);
  const now = deps.now ?? Date.now;
  const idps = namesWith(deps.config.descriptors, 'idp');
  app.get<{ Querystring: ClaimsQuery }>(
    '/identity/claims',
    {
      schema: op({
        ok: 'Claims',
        errors: ['not_found'],
        summary: 'Household claims for an identity-provider user (by subject or e-mail)',
        tags: ['identity'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            subject: { type: 'string', minLength: 1, maxLength: 300 },
            email: { type: 'string', minLength: 3, maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' },
            system: { type: 'string', enum: idps },
          },
        },
      }),
    },
    async (req) => {
      const { subject, email, system } = req.query;
      if (!subject && !email)
        throw new HearthError('bad_request', 'give subject (the IdP user id) or email', { field: 'subject' });
      const customerId = await resolveCustomer(deps.hdb.db, subject, email, system ? [system] : idps);
      if (!customerId)
        throw new HearthError(
          'not_found',
          subject
            ? `no customer is linked to IdP subject ${subject}${email ? ' or has that e-mail' : ''}`
            : 'no customer has that e-mail',
        );
      return { customer_id: customerId, ...(await claimsOf(deps.hdb.db, customerId, now(), loyalty)) };
    },
  );
}

async function resolveCustomer(
  db: Db,
  subject: string | undefined,
  email: string | undefined,
  systems: string[],
): Promise<string | null> {
  if (subject) {
    const link = await db
      .selectFrom('source_links')
      .select('customer_id')
      .where('system', 'in', systems)
      .where('external_id', '=', subject)
      .orderBy('updated_at', 'desc')
      .executeTakeFirst();
    // A merged customer resolves to the survivor.
    if (link) return (await getCustomerRow(db, link.customer_id))?.id ?? null;
  }
  const normalized = normalizeEmail(email);
  if (!normalized) return null;
  const row = await db
    .selectFrom('customers')
    .select('id')
    .where('email_normalized', '=', normalized)
    .where('merged_into', 'is', null)
    .orderBy('id')
    .executeTakeFirst();
  return row?.id ?? null;
}
