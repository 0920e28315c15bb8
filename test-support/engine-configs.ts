import { parseConfig } from '../src/config/loader.ts';

/**
 * The configurations the statement counts are taken under (src/flows/apply-statements.test.ts and
 * bench/statements.ts): one place, so the test's ceilings and the bench's figures count the same
 * work. The targets point at a closed port: nothing is delivered, only applied.
 */
export function writebackConfig() {
  return parseConfig({
    connectors: {
      hubspot: { access_token: 'x', base_url: 'http://127.0.0.1:1' },
      webhook: { targets: [{ name: 'loyalty', url: 'http://127.0.0.1:1/x', secret: 'whsec_test_1' }] },
    },
    writeback: { crm: 'hubspot' },
  });
}

export function ledgerConfig() {
  return parseConfig({
    connectors: {
      webhook: {
        targets: [
          {
            name: 'loyalty',
            url: 'http://127.0.0.1:1/x',
            secret: 'whsec_test_1',
            events: ['order.enriched', 'tier.changed', 'address.corrected'],
          },
        ],
      },
    },
  });
}
