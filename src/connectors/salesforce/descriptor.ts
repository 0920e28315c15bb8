import { z } from 'zod';
import { optional, required } from '../../canonical/export-columns.ts';
import { defineConnector } from '../connector.ts';
import { salesforceEraser } from './erase.ts';
import { salesforceDoctor } from './doctor.ts';
import { CREDENTIAL_REQUIRED, hasCredential, jwtGrantSchema, refreshGrantSchema } from '../common/credentials.ts';
import { createSalesforceHouseholds } from './households.ts';
import { createSalesforceConnector } from './index.ts';
import { salesforceConnection, salesforceCredential } from './auth.ts';
import { cdcReaders, createCdcSubscribers } from './cdc.ts';
import type { SfReader } from './pull.ts';

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
    cdc: z
      .object({
        enabled: z.boolean().default(false).describe('Subscribe to Change Data Capture inside `hearth serve`.'),
        channels: z
          .array(z.string().regex(/^\/data\/[A-Za-z0-9_]+$/, 'a CDC channel such as /data/ContactChangeEvent'))
          .min(1)
          .default(['/data/ContactChangeEvent', '/data/AccountChangeEvent'])
          .describe('Pub/Sub API topics: the two standard channels, or one custom channel (/data/Hearth__chn).'),
        pubsub_url: z.url().default('https://api.pubsub.salesforce.com:7443').describe('The Pub/Sub API endpoint.'),
        org_id: z
          .string()
          .regex(/^00D[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$/, 'an organization id (00D...)')
          .optional()
          .describe('The organization id (tenant id of the Pub/Sub API); required when enabled.'),
        batch_size: z
          .number()
          .int()
          .min(1)
          .max(100)
          .default(100)
          .describe('Events requested at a time; more only once they are stored (flow control).'),
      })
      .refine((c) => !c.enabled || c.org_id, { message: 'org_id is required when cdc is enabled', path: ['org_id'] })
      .optional()
      .describe('Change Data Capture over the Pub/Sub API (gRPC + Avro).'),
  })
  .refine(hasCredential, `${CREDENTIAL_REQUIRED}, or jwt (client_id, username, private_key)`);

/** Salesforce CRM through jsforce: write-back, pulls, NPSP households; CDC over the Pub/Sub API or a signing relay. */
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
  streams: (cfg, deps) =>
    cfg.cdc?.enabled
      ? createCdcSubscribers(cfg.cdc, {
          store: deps.store,
          credential: salesforceCredential(cfg, deps),
          ...cdcReaders(salesforceConnection(cfg, deps).conn as unknown as SfReader),
          instance_url: cfg.instance_url,
          client_id: cfg.client_id,
          logger: deps.logger,
          now: deps.now,
          onStored: deps.onStored,
        })
      : [],
  erase: salesforceEraser,
  create: (cfg, deps) =>
    createSalesforceConnector(cfg, {
      logger: deps.logger,
      fetch: deps.fetch,
      tokens: deps.tokens,
      ...(deps.now ? { now: deps.now } : {}),
    }),
});
