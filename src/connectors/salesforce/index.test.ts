import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { HearthError } from '../../errors.ts';
import { startSalesforceSim } from '../../../sim/salesforce.ts';
import { createSalesforceConnector, isHearthOrigin, mailingFields, parseChangeEvents, verifyRelay } from './index.ts';
import { kindOfCode, mapError } from './mapping.ts';

const SECRET = 'cdc-relay-secret';
const req = (body: string, headers: Record<string, string> = {}) => ({
  rawBody: Buffer.from(body),
  headers,
  method: 'POST',
  url: 'http://h/webhooks/salesforce',
  now: 1714650009999,
});
const sign = (body: string) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
const event = (header: Record<string, unknown>, fields: Record<string, unknown> = {}) =>
  JSON.stringify({
    replayId: 7001,
    ChangeEventHeader: {
      entityName: 'Contact',
      recordIds: ['0035g00000AbCdEAAZ'],
      changeType: 'UPDATE',
      changeOrigin: 'com/salesforce/api/rest/62.0;client=hearth',
      commitTimestamp: 1714650000000,
      changedFields: ['MailingAddress.City', 'LastModifiedDate'],
      nulledFields: [],
      ...header,
    },
    MailingAddress: { City: 'Springfield' },
    LastModifiedDate: '2024-05-02T10:00:00.000Z',
    ...fields,
  });

test('relay signature: valid, tampered, missing, wrong scheme, unconfigured', () => {
  const body = event({});
  assert.deepEqual(verifyRelay(req(body, { 'x-hearth-signature': sign(body) }), SECRET), { ok: true });
  assert.equal(
    verifyRelay(req(body.replace('Springfield', 'Shelbyville'), { 'x-hearth-signature': sign(body) }), SECRET).ok,
    false,
  );
  assert.equal(verifyRelay(req(body), SECRET).ok, false);
  assert.equal(verifyRelay(req(body, { 'x-hearth-signature': sign(body).slice(7) }), SECRET).ok, false);
  assert.equal(verifyRelay(req(body, { 'x-hearth-signature': sign(body) }), undefined).ok, false);
});

test('ContactChangeEvent UPDATE becomes contact.updated keyed by replay id; changeOrigin marks our writes', () => {
  const [e] = parseChangeEvents(req(event({})), 'hearth');
  assert.deepEqual(e, {
    delivery_id: '7001',
    event: {
      type: 'contact.updated',
      source: 'salesforce',
      external_id: '0035g00000AbCdEAAZ',
      contact: {
        address: { line1: '', line2: null, city: 'Springfield', region: null, postal_code: null, country: null },
      },
      vendor_fields: { MailingCity: 'Springfield' },
      origin_is_hearth: true,
      occurred_at: 1714650000000,
    },
  });
  const ui = parseChangeEvents(req(event({ changeOrigin: '' })), 'hearth')[0]!.event as { origin_is_hearth: boolean };
  assert.equal(ui.origin_is_hearth, false);
  assert.equal(
    isHearthOrigin('com/salesforce/api/rest/62.0;client=hearth-test', 'hearth'),
    false,
    'another client whose id starts like ours',
  );
  assert.equal(isHearthOrigin('com/salesforce/api/soap/62.0;client=hearth', 'hearth'), true);
});

test('street lines, names, nulled fields, flat fields and batches of events', () => {
  const body = event(
    {
      changedFields: ['MailingAddress.Street', 'Name.FirstName', 'Email'],
      nulledFields: ['MailingAddress.PostalCode'],
    },
    { MailingAddress: { Street: '1 Main St\nApt 4' }, Name: { FirstName: 'Ana' }, Email: 'ana@example.com' },
  );
  const e = parseChangeEvents(req(body), 'hearth')[0]!.event;
  assert.equal(e.type, 'contact.updated');
  if (e.type !== 'contact.updated') return;
  assert.deepEqual(e.vendor_fields, {
    MailingStreet: '1 Main St\nApt 4',
    FirstName: 'Ana',
    Email: 'ana@example.com',
    MailingPostalCode: null,
  });
  assert.deepEqual(e.contact, {
    given_name: 'Ana',
    email: 'ana@example.com',
    address: { line1: '1 Main St', line2: 'Apt 4', city: null, region: null, postal_code: null, country: null },
  });
  const two = JSON.stringify({
    events: [
      JSON.parse(event({})),
      { ...JSON.parse(event({ changeType: 'DELETE' })), replayId: 7002 },
      { ...JSON.parse(event({ entityName: 'Account' })), replayId: 7003 },
    ],
  });
  assert.deepEqual(
    parseChangeEvents(req(two), 'hearth').map((x) => [x.delivery_id, x.event.type]),
    [
      ['7001', 'contact.updated'],
      ['7002', 'unsupported'],
      ['7003', 'unsupported'],
    ],
  );
});

test('malformed events throw bad_request naming the field', () => {
  const field = (body: string) => {
    try {
      parseChangeEvents(req(body), 'hearth');
    } catch (e) {
      assert.ok(e instanceof HearthError && e.code === 'bad_request');
      return (e as HearthError).details?.field;
    }
    return 'no error';
  };
  assert.equal(field('not json'), 'body');
  assert.equal(field('[]'), 'body');
  assert.equal(field(JSON.stringify({ ChangeEventHeader: {} })), 'events[0].replayId');
  assert.equal(field(JSON.stringify({ replayId: 1 })), 'events[0].ChangeEventHeader');
  assert.equal(field(event({ recordIds: [] })), 'events[0].ChangeEventHeader.recordIds');
  assert.equal(field(event({ changeType: undefined })), 'events[0].ChangeEventHeader.changeType');
  assert.equal(field(JSON.stringify({ events: [JSON.parse(event({})), null] })), 'events[1]');
});

test('Mailing fields: line 2 joined with a newline', () => {
  assert.deepEqual(
    mailingFields({
      line1: '1 Main St',
      line2: 'Apt 4',
      city: 'Springfield',
      region: 'IL',
      postal_code: '62701',
      country: 'US',
    }),
    {
      MailingStreet: '1 Main St\nApt 4',
      MailingCity: 'Springfield',
      MailingState: 'IL',
      MailingPostalCode: '62701',
      MailingCountry: 'US',
    },
  );
});

// Fixtures shaped like jsforce's errors: errorCode/name from Salesforce's error array, FetchError for the network.
const FIXTURES: [string, unknown, string, number?][] = [
  [
    'daily limit',
    { name: 'REQUEST_LIMIT_EXCEEDED', errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' },
    'rate_limited',
    3_600_000,
  ],
  [
    'concurrent limit',
    {
      name: 'REQUEST_LIMIT_EXCEEDED',
      errorCode: 'REQUEST_LIMIT_EXCEEDED',
      message: 'ConcurrentRequests (Concurrent API Requests) Limit exceeded.',
    },
    'rate_limited',
    30_000,
  ],
  [
    'expired session',
    { name: 'INVALID_SESSION_ID', errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' },
    'auth',
  ],
  [
    'no access',
    { errorCode: 'INSUFFICIENT_ACCESS_OR_READONLY', message: 'insufficient access rights on object id' },
    'auth',
  ],
  ['deleted', { errorCode: 'ENTITY_IS_DELETED', message: 'entity is deleted' }, 'not_found'],
  ['404', { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }, 'not_found'],
  ['validation', { errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'Zip must be 5 digits' }, 'invalid'],
  ['malformed id', { errorCode: 'MALFORMED_ID', message: 'Contact id: 12' }, 'invalid'],
  ['503', { errorCode: 'SERVER_UNAVAILABLE', message: 'Service Unavailable' }, 'transient'],
  ['non-JSON 502', { name: 'ERROR_HTTP_502', errorCode: 'ERROR_HTTP_502', message: 'Bad Gateway' }, 'transient'],
  [
    'lock',
    { errorCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record' },
    'transient',
  ],
  [
    'reset',
    { name: 'FetchError', code: 'ECONNRESET', message: 'request to http://x failed, reason: socket hang up' },
    'transient',
  ],
  ['refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'transient'],
  ['odd', 'something', 'unknown'],
];

for (const [name, err, kind, wait] of FIXTURES) {
  test(`jsforce error → ${kind}: ${name}`, () => {
    const r = mapError(err);
    assert.equal(r.kind, kind);
    assert.equal(r.retry_after_ms, wait);
  });
}

test('error messages are scrubbed and per-record codes map like thrown ones', () => {
  assert.doesNotMatch(
    mapError({ errorCode: 'INVALID_SESSION_ID', message: 'Bearer 00D5g000004Xyz1!AQ4AQFakeToken rejected' }).message,
    /AQ4AQFakeToken/,
  );
  assert.equal(kindOfCode('DUPLICATES_DETECTED'), 'invalid');
  assert.equal(kindOfCode(''), 'unknown');
});

test('the connector answers unreachable hosts with transient results, one per job', async () => {
  const c = createSalesforceConnector({
    instance_url: 'http://127.0.0.1:1',
    access_token: 't',
    api_version: '62.0',
    client_id: 'hearth',
  });
  const job = {
    id: 'j',
    kind: 'crm.address_write',
    attempts: 1,
    payload: { customer_id: 'c', external_id: null, email: 'a@b.c', corrected_at: 0, address: { line1: '1 A St' } },
  };
  const rs = await c.outbound!.deliver([job, { ...job, id: 'k' }]);
  assert.deepEqual(
    rs.map((r) => (r.ok ? 'ok' : r.kind)),
    ['transient', 'transient'],
  );
});

test(
  'a fields write (reconciliation heal) updates the Contact by ' +
    'id and reports what it wrote; a missing record fails alone',
  async () => {
    const sim = await startSalesforceSim();
    try {
      const c = createSalesforceConnector({
        instance_url: sim.url,
        access_token: sim.token,
        api_version: '62.0',
        client_id: 'hearth',
      });
      const id = sim.createContact({
        Email: 'cy@example.com',
        FirstName: 'Cy',
        LastName: 'Park',
        Phone: '(312) 555-0199',
      });
      const job = (jid: string, external_id: string) => ({
        id: jid,
        kind: 'crm.fields_write',
        attempts: 0,
        payload: { customer_id: 'cus_1', external_id, fields: { phone: '+13125550103' } },
      });
      assert.deepEqual(c.outbound!.expectedWrites!(job('j0', id)), {
        external_id: id,
        written: { Phone: '+13125550103' },
      });
      const [ok, missing] = await c.outbound!.deliver([job('j1', id), job('j2', '003000000000000AAA')]);
      assert.deepEqual(ok, { ok: true, external_id: id, written: { Phone: '+13125550103' } });
      assert.equal(missing!.ok, false);
      assert.equal(sim.getContact(id)!.Phone, '+13125550103');
      assert.equal(sim.getContact(id)!.FirstName, 'Cy', 'only the healed field is written');
    } finally {
      await sim.close();
    }
  },
);
