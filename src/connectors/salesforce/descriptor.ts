import { z } from 'zod';
import { optional, required } from '../../canonical/export-columns.ts';
import { defineConnector } from '../connector.ts';
import { salesforceDoctor } from './doctor.ts';
import { CREDENTIAL_REQUIRED, hasCredential, jwtGrantSchema, refreshGrantSchema } from '../common/credentials.ts';
import { createSalesforceHouseholds } from './households.ts';
import { createSalesforceConnector } from './index.ts';

const config = z
  .object({
    instance_url: z.url(),
    /** A fixed session; with `oauth` (refresh token) or `jwt` (JWT bearer), renewed instead. */
    access_token: z.string().min(1).optional(),
    oauth: refreshGrantSchema.optional(),
    jwt: jwtGrantSchema.optional(),
    login_url: z.url().default('https://login.salesforce.com'),
    api_version: z.string().default('62.0'),
    client_id: z.string().default('hearth'),
    cdc_secret: z.string().min(8).optional(),
    /** Milliseconds a vendor call may wait for an answer before it fails as transient (default 10 000). */
    timeout_ms: z.number().int().min(1).optional(),
  })
  .refine(hasCredential, `${CREDENTIAL_REQUIRED}, or jwt (client_id, username, private_key)`);

/** Salesforce CRM through jsforce: write-back, contact pulls, NPSP households, CDC through a signing relay. */
export const salesforceConnector = defineConnector({
  name: 'salesforce',
  config,
  ownership: { given_name: 11, family_name: 11, email: 11, phone: 12, address: 31 },
  capabilities: { ingress: true, writeback: true, pull: true },
  signature_headers: ['x-hearth-signature'],
  household_fields: ['AccountId'],
  households: (cfg, o, deps) =>
    createSalesforceHouseholds(cfg, { opt_in_property: o.opt_in_property }, undefined, {
      logger: deps.logger,
      now: deps.now,
      fetch: deps.fetch,
    }),
  exports: {
    // Data Loader exports use API names; reports use labels.
    contacts: [
      required('id', 'Id', 'Contact ID', 'Contact Id'),
      required('email', 'Email'),
      required('street', 'MailingStreet', 'Mailing Street'),
      required('city', 'MailingCity', 'Mailing City'),
      required('postal_code', 'MailingPostalCode', 'Mailing Zip/Postal Code', 'Mailing Postal Code'),
      optional('region', 'MailingState', 'Mailing State/Province', 'MailingStateCode', 'Mailing State/Province Code'),
      optional('country', 'MailingCountry', 'Mailing Country', 'MailingCountryCode', 'Mailing Country Code'),
      optional('phone', 'Phone', 'HomePhone', 'Home Phone'),
      optional('mobile', 'MobilePhone', 'Mobile', 'Mobile Phone'),
    ],
  },
  doctor: salesforceDoctor,
  create: (cfg, deps) =>
    createSalesforceConnector(cfg, { logger: deps.logger, fetch: deps.fetch, ...(deps.now ? { now: deps.now } : {}) }),
});
