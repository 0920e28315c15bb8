import { z } from 'zod';
import { optional, required } from '../../canonical/export-columns.ts';
import { defineConnector } from '../connector.ts';
import { zohoDoctor } from './doctor.ts';
import { CREDENTIAL_REQUIRED, hasCredential, refreshGrantSchema } from '../common/credentials.ts';
import { createZohoConnector, createZohoHouseholds } from './index.ts';

const config = z
  .object({
    /** A fixed token (tests, short jobs); with `oauth`, renewed from the refresh token. */
    access_token: z.string().min(1).optional(),
    oauth: refreshGrantSchema.optional(),
    base_url: z.url().default('https://www.zohoapis.com'),
    /** The data centre's accounts server; default from base_url (`www.zohoapis.eu` → `accounts.zoho.eu`). */
    accounts_url: z.url().optional(),
    /** Only Accounts with this Account_Type are households; null: every Account. */
    household_account_type: z.string().nullable().default('Household'),
    /** The Account lookup field naming the head of household. */
    primary_contact_field: z.string().min(1).default('Primary_Contact'),
    /** Milliseconds a vendor call may wait for an answer before it fails as transient (default 10 000). */
    timeout_ms: z.number().int().min(1).optional(),
  })
  .refine(hasCredential, CREDENTIAL_REQUIRED);

/** Zoho CRM: contact pulls and households (Accounts); opt-in write-back. No address write-back yet. */
export const zohoConnector = defineConnector({
  name: 'zoho',
  config,
  ownership: { given_name: 12, family_name: 12, email: 12, phone: 13, address: 32 },
  capabilities: { pull: true },
  household_fields: ['Account_Name'],
  households: (cfg, o, deps) =>
    createZohoHouseholds(
      cfg,
      { opt_in_property: o.opt_in_property },
      { logger: deps.logger, ...(deps.now ? { now: deps.now } : {}) },
    ),
  exports: {
    // Zoho exports use labels (API names accepted).
    contacts: [
      required('id', 'Record Id', 'Id', 'Contact Id'),
      required('email', 'Email'),
      required('street', 'Mailing Street', 'Mailing_Street'),
      required('city', 'Mailing City', 'Mailing_City'),
      required('postal_code', 'Mailing Zip', 'Mailing_Zip'),
      optional('region', 'Mailing State', 'Mailing_State'),
      optional('country', 'Mailing Country', 'Mailing_Country'),
      optional('phone', 'Phone', 'Home Phone', 'Home_Phone'),
      optional('mobile', 'Mobile'),
    ],
  },
  doctor: zohoDoctor,
  create: (cfg, deps) =>
    createZohoConnector(cfg, { logger: deps.logger, tokens: deps.tokens, ...(deps.now ? { now: deps.now } : {}) }),
});
