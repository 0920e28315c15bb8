import { z } from 'zod';
import { optional, required } from '../../canonical/export-columns.ts';
import { defineConnector } from '../connector.ts';
import { hubspotEraser } from './erase.ts';
import { createHubSpotHouseholds } from './households.ts';
import { hubspotDoctor } from './doctor.ts';
import { createHubSpotConnector, hubspotRenewingClient, hubspotCredential } from './index.ts';
import { CREDENTIAL_REQUIRED, hasCredential, refreshGrantSchema } from '../common/credentials.ts';
import { householdsRenewing } from '../common/renewing.ts';

const config = z
  .object({
    /** A private-app token; with `oauth` (an OAuth app), renewed from the refresh token instead. */
    access_token: z.string().min(1).optional(),
    oauth: refreshGrantSchema.optional(),
    base_url: z.url().default('https://api.hubapi.com'),
    client_secret: z.string().min(1).optional(),
    app_id: z.string().optional(),
    webhook_url: z.string().optional(),
    /** Milliseconds a vendor call may wait for an answer before it fails as transient (default 10 000). */
    timeout_ms: z.number().int().min(1).optional(),
  })
  .refine(hasCredential, CREDENTIAL_REQUIRED);

/** HubSpot CRM: write-back, contact pulls, households (companies or labelled pairs), v3 webhooks. */
export const hubspotConnector = defineConnector({
  name: 'hubspot',
  config,
  ownership: { given_name: 10, family_name: 10, email: 10, phone: 11, address: 30 },
  capabilities: { ingress: true, writeback: true, pull: true },
  single_street_line: true,
  signature_headers: ['x-hubspot-signature-v3'],
  households: (cfg, o, deps) => {
    const { client, use } = hubspotRenewingClient(cfg);
    const reader = createHubSpotHouseholds(
      client,
      {
        mode: o.hubspot_mode,
        opt_in_property: o.opt_in_property,
        head_labels: o.head_labels,
        member_labels: o.member_labels,
      },
      deps.now ?? Date.now,
    );
    return householdsRenewing(reader, hubspotCredential(cfg, deps), use);
  },
  exports: {
    // HubSpot exports use property labels (internal names accepted too).
    contacts: [
      required('id', 'Record ID', 'hs_object_id', 'Contact ID'),
      required('email', 'Email', 'email'),
      required('street', 'Street Address', 'address'),
      required('city', 'City', 'city'),
      required('postal_code', 'Postal Code', 'zip'),
      optional('region', 'State/Region', 'state', 'State/Region Code', 'hs_state_code'),
      optional('country', 'Country/Region', 'country', 'Country/Region Code', 'hs_country_region_code'),
      optional('phone', 'Phone Number', 'phone'),
      optional('mobile', 'Mobile Phone Number', 'mobilephone'),
    ],
  },
  doctor: hubspotDoctor,
  erase: hubspotEraser,
  create: (cfg, deps) =>
    createHubSpotConnector(cfg, {
      logger: deps.logger,
      fetch: deps.fetch,
      tokens: deps.tokens,
      ...(deps.now ? { now: deps.now } : {}),
    }),
});
