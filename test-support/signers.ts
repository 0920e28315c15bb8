import { createHmac } from 'node:crypto';

/** Test signers for the vendors' webhook schemes (Shopify's lives in sim/shopify.ts). */
export const HUBSPOT_SECRET = 'hs_test_client_secret';
export const HUBSPOT_URL = 'http://hearth.test/webhooks/hubspot';
export const CDC_SECRET = 'cdc_test_secret';

/** The connectors block that makes HubSpot and Salesforce webhooks verifiable in a test Hearth. */
export const SIGNED_CONNECTORS = {
  hubspot: {
    access_token: 'pat-test',
    base_url: 'http://127.0.0.1:9',
    client_secret: HUBSPOT_SECRET,
    webhook_url: HUBSPOT_URL,
  },
  salesforce: {
    instance_url: 'http://127.0.0.1:9',
    access_token: 'sf-test',
    client_id: 'hearth',
    cdc_secret: CDC_SECRET,
  },
};

export function hubspotHeaders(body: string, now: number = Date.now(), secret = HUBSPOT_SECRET) {
  const ts = String(now);
  const sig = createHmac('sha256', secret).update(`POST${HUBSPOT_URL}${body}${ts}`).digest('base64');
  return { 'content-type': 'application/json', 'x-hubspot-signature-v3': sig, 'x-hubspot-request-timestamp': ts };
}

export function relayHeaders(body: string, secret = CDC_SECRET) {
  const sig = createHmac('sha256', secret).update(body).digest('hex');
  return { 'content-type': 'application/json', 'x-hearth-signature': `sha256=${sig}` };
}
