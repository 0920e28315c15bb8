import { deliverContactFetches } from './contact-fetch.ts';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHubSpotSim, type HubSpotSim } from '../../sim/hubspot.ts';
import { startSalesforceSim, type SalesforceSim } from '../../sim/salesforce.ts';
import { HearthError } from '../errors.ts';
import { createHubSpotConnector } from './hubspot/index.ts';
import { createSalesforceConnector } from './salesforce/index.ts';
import type { ContactSource, PulledContact } from '../canonical/types.ts';

/** Reads every page, returning the records and the cursors seen. */
async function pullAll(
  source: ContactSource,
  limit: number,
  extra?: string[],
): Promise<{ records: PulledContact[]; cursors: (string | null)[] }> {
  const records: PulledContact[] = [];
  const cursors: (string | null)[] = [];
  let cursor: string | null = null;
  do {
    const page = await source.listContacts(cursor, { limit, ...(extra ? { extra_properties: extra } : {}) });
    records.push(...page.records);
    cursor = page.next_cursor;
    cursors.push(cursor);
  } while (cursor);
  return { records, cursors };
}

describe('HubSpot contact pull', () => {
  let hs: HubSpotSim;
  let source: ContactSource;
  before(async () => {
    hs = await startHubSpotSim();
    source = createHubSpotConnector({ access_token: hs.token, base_url: hs.url }).source!;
    for (let i = 1; i <= 5; i++)
      hs.createContact({
        email: `p${i}@example.com`,
        firstname: `P${i}`,
        lastname: 'Lane',
        phone: '(512) 555-010' + i,
        address: `${i} Main St`,
        city: 'Austin',
        state: 'TX',
        zip: '78701',
        country: 'US',
        hs_marketable: 'true',
      });
  });
  after(() => hs.close());

  test('pages with after until the end, mapping standard properties to canonical fields', async () => {
    const { records, cursors } = await pullAll(source, 2, ['hs_marketable']);
    assert.deepEqual(cursors, ['2', '4', null]);
    assert.equal(records.length, 5);
    const first = records[0]!;
    assert.deepEqual(first.contact, {
      given_name: 'P1',
      family_name: 'Lane',
      email: 'p1@example.com',
      phone: '(512) 555-0101',
      address: { line1: '1 Main St', line2: null, city: 'Austin', region: 'TX', postal_code: '78701', country: 'US' },
    });
    assert.equal(first.properties.hs_marketable, 'true');
    assert.equal(typeof first.updated_at, 'number');
    assert.deepEqual(
      records.map((r) => r.external_id),
      hs.listContacts().map((c) => c.id),
    );
  });

  test('a 429 is waited out with its Retry-After and the page still arrives', async () => {
    hs.faults.set({ rate_limit_next: 2, retry_after_s: 0 });
    const before = hs.requests;
    const page = await source.listContacts(null, { limit: 3 });
    assert.equal(page.records.length, 3);
    assert.equal(hs.requests - before, 3);
  });

  test('one contact by id; a missing one is null; a fetch job turns it into a contact.updated event', async () => {
    const id = hs.listContacts()[0]!.id;
    const one = await source.getContact!(id, { extra_properties: ['hs_marketable'] });
    assert.equal(one?.contact.email, 'p1@example.com');
    assert.equal(one?.properties.hs_marketable, 'true');
    assert.equal(await source.getContact!('999999', {}), null);
    const [ok, missing] = await deliverContactFetches(
      'hubspot',
      source,
      [
        { id: 'job_a', kind: 'crm.contact_fetch', attempts: 1, payload: { external_id: id, extra_properties: [] } },
        {
          id: 'job_b',
          kind: 'crm.contact_fetch',
          attempts: 1,
          payload: { external_id: '999999', extra_properties: [] },
        },
      ],
      Date.now,
    );
    assert.ok(
      ok?.ok && ok.inbound?.[0]?.delivery_id === 'fetch:job_a' && ok.inbound[0].event.type === 'contact.updated',
    );
    assert.deepEqual(missing && !missing.ok ? missing.kind : null, 'not_found');
  });

  test('a bad token fails at once as connector_error kind auth', async () => {
    const bad = createHubSpotConnector({ access_token: 'wrong', base_url: hs.url }).source!;
    await assert.rejects(
      bad.listContacts(null, { limit: 2 }),
      (e: unknown) => e instanceof HearthError && e.code === 'connector_error' && e.details?.kind === 'auth',
    );
  });
});

describe('Salesforce contact pull', () => {
  let sf: SalesforceSim;
  let source: ContactSource;
  before(async () => {
    sf = await startSalesforceSim();
    source = createSalesforceConnector({
      instance_url: sf.url,
      access_token: sf.token,
      api_version: '62.0',
      client_id: 'hearth',
    }).source!;
    for (let i = 1; i <= 5; i++)
      sf.createContact({
        Email: `s${i}@example.com`,
        FirstName: `S${i}`,
        LastName: 'Ng',
        Phone: '512-555-020' + i,
        MailingStreet: `${i} Elm St\nUnit 2`,
        MailingCity: 'Austin',
        MailingState: 'TX',
        MailingPostalCode: '78702',
        MailingCountry: 'US',
        HasOptedOutOfEmail: 'false',
      });
  });
  after(() => sf.close());

  test('one SOQL query then queryMore on nextRecordsUrl until done', async () => {
    const before = sf.requests;
    const { records, cursors } = await pullAll(source, 2, ['HasOptedOutOfEmail']);
    assert.equal(sf.requests - before, 3);
    assert.equal(cursors.length, 3);
    assert.match(cursors[0]!, /\/query\/01g\w+-2$/);
    assert.equal(cursors.at(-1), null);
    assert.equal(records.length, 5);
    assert.equal(new Set(records.map((r) => r.external_id)).size, 5);
    assert.deepEqual(records[0]!.contact, {
      given_name: 'S1',
      family_name: 'Ng',
      email: 's1@example.com',
      phone: '512-555-0201',
      address: {
        line1: '1 Elm St',
        line2: 'Unit 2',
        city: 'Austin',
        region: 'TX',
        postal_code: '78702',
        country: 'US',
      },
    });
    assert.equal(records[0]!.properties.HasOptedOutOfEmail, 'false');
  });

  test('a saved cursor resumes where the pull stopped', async () => {
    const first = await source.listContacts(null, { limit: 3 });
    const rest = await source.listContacts(first.next_cursor, { limit: 3 });
    assert.deepEqual(
      [...first.records, ...rest.records].map((r) => r.contact.email),
      ['s1@example.com', 's2@example.com', 's3@example.com', 's4@example.com', 's5@example.com'],
    );
    assert.equal(rest.next_cursor, null);
  });

  test('a 503 is retried; an unsafe extra field name is refused before any call', async () => {
    sf.faults.set({ server_error_next: 1 });
    assert.equal((await source.listContacts(null, { limit: 10 })).records.length, 5);
    await assert.rejects(
      source.listContacts(null, { limit: 2, extra_properties: ['Email FROM User --'] }),
      (e: unknown) => e instanceof HearthError && e.code === 'bad_request',
    );
  });

  test(
    'one contact by id (SOQL WHERE Id); a missing one ' + 'is null; a malformed id is refused before any call',
    async () => {
      const id = sf.createContact({ Email: 'one@example.com', FirstName: 'One', LastName: 'Ng' });
      assert.equal((await source.getContact!(id, {}))?.contact.email, 'one@example.com');
      assert.equal(await source.getContact!('003000000000000AAA', {}), null);
      await assert.rejects(
        source.getContact!("x' OR Id != '", {}),
        (e: unknown) => e instanceof HearthError && e.code === 'bad_request',
      );
    },
  );
});
