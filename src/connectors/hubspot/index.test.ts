import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { HearthError } from '../../errors.ts';
import { addressProperties, parseEvents, verifyV3 } from './index.ts';
import { contactFromFields, mapError } from './mapping.ts';

const SECRET = 'hs-secret';
const URL_ = 'https://hooks.example.com/webhooks/hubspot?x=1';
const body = JSON.stringify([
  {
    eventId: 1001,
    subscriptionId: 2345,
    portalId: 62515,
    appId: 54321,
    occurredAt: 1714650000000,
    subscriptionType: 'contact.propertyChange',
    attemptNumber: 0,
    objectId: 512,
    propertyName: 'city',
    propertyValue: 'Springfield',
    changeSource: 'CRM_UI',
    sourceId: 'userId:777',
  },
]);
const sign = (b: string, ts: string, uri = URL_) =>
  createHmac('sha256', SECRET).update(`POST${uri}${b}${ts}`).digest('base64');
const req = (b: string, headers: Record<string, string>, now = 1714650000500, url = URL_) => ({
  rawBody: Buffer.from(b),
  headers,
  method: 'POST',
  url,
  now,
});

test('signature v3: valid, tampered, stale, missing, URL-escaped', () => {
  const ts = '1714650000123';
  assert.deepEqual(
    verifyV3(
      req(body, { 'x-hubspot-signature-v3': sign(body, ts), 'x-hubspot-request-timestamp': ts }),
      SECRET,
      undefined,
    ),
    { ok: true },
  );
  assert.equal(
    verifyV3(
      req(body.replace('Springfield', 'Shelbyville'), {
        'x-hubspot-signature-v3': sign(body, ts),
        'x-hubspot-request-timestamp': ts,
      }),
      SECRET,
      undefined,
    ).ok,
    false,
  );
  const stale = verifyV3(
    req(body, { 'x-hubspot-signature-v3': sign(body, ts), 'x-hubspot-request-timestamp': ts }, 1714650000123 + 300_001),
    SECRET,
    undefined,
  );
  assert.deepEqual(stale, { ok: false, error: 'X-HubSpot-Request-Timestamp is outside the 5-minute window' });
  assert.equal(verifyV3(req(body, {}), SECRET, undefined).ok, false);
  // HubSpot hashes the decoded form of these escapes.
  const escaped = 'https://hooks.example.com/webhooks/hubspot?next=a%3Ab';
  assert.equal(
    verifyV3(
      req(
        body,
        {
          'x-hubspot-signature-v3': sign(body, ts, 'https://hooks.example.com/webhooks/hubspot?next=a:b'),
          'x-hubspot-request-timestamp': ts,
        },
        1714650000500,
        escaped,
      ),
      SECRET,
      undefined,
    ).ok,
    true,
  );
  assert.equal(verifyV3(req(body, {}), undefined, undefined).ok, false, 'no client secret configured');
});

test('propertyChange events become contact.updated with a per-event delivery id; our own writes are marked', () => {
  const [e] = parseEvents(req(body, {}), '54321');
  assert.equal(e!.delivery_id, '1001:1714650000000');
  assert.deepEqual(e!.event, {
    type: 'contact.updated',
    source: 'hubspot',
    external_id: '512',
    contact: {
      address: { line1: '', line2: null, city: 'Springfield', region: null, postal_code: null, country: null },
    },
    vendor_fields: { city: 'Springfield' },
    origin_is_hearth: false,
    occurred_at: 1714650000000,
  });
  const ours = JSON.stringify([{ ...JSON.parse(body)[0], changeSource: 'INTEGRATION', sourceId: '54321' }]);
  assert.equal((parseEvents(req(ours, {}), '54321')[0]!.event as { origin_is_hearth: boolean }).origin_is_hearth, true);
  const other = JSON.stringify([{ ...JSON.parse(body)[0], subscriptionType: 'contact.creation' }]);
  assert.equal(parseEvents(req(other, {}), '54321')[0]!.event.type, 'unsupported');
});

test('a propertyChange that empties the phone is a clear; a pulled empty property is not', () => {
  const emptied = JSON.stringify([{ ...JSON.parse(body)[0], propertyName: 'phone', propertyValue: '' }]);
  const [e] = parseEvents(req(emptied, {}), '54321');
  assert.ok(e!.event.type === 'contact.updated');
  assert.deepEqual([e!.event.contact, e!.event.cleared], [{ phone: null }, ['phone']]);
  const set = JSON.stringify([{ ...JSON.parse(body)[0], propertyName: 'phone', propertyValue: '+13125550000' }]);
  const [s] = parseEvents(req(set, {}), '54321');
  assert.equal(s!.event.type === 'contact.updated' && s!.event.cleared, undefined);
  assert.deepEqual(contactFromFields({ phone: null, firstname: 'Jo' }), { given_name: 'Jo', phone: null });
});

test('malformed deliveries name the field', () => {
  assert.throws(
    () => parseEvents(req('{"a":1}', {}), undefined),
    (e: HearthError) => e.code === 'bad_request' && e.details?.field === 'body',
  );
  assert.throws(
    () => parseEvents(req('[{"eventId":1}]', {}), undefined),
    (e: HearthError) => e.details?.field === '[0].occurredAt',
  );
});

test('standard properties: line 2 folded into address; contact mapping', () => {
  assert.deepEqual(
    addressProperties({
      line1: '1 Main St',
      line2: 'Apt 4',
      city: 'Springfield',
      region: 'IL',
      postal_code: '62701',
      country: 'US',
    }),
    { address: '1 Main St Apt 4', city: 'Springfield', state: 'IL', zip: '62701', country: 'US' },
  );
  assert.deepEqual(contactFromFields({ firstname: 'Ana', email: 'a@x.com' }), { given_name: 'Ana', email: 'a@x.com' });
});

test('SDK errors map to neutral kinds; 429 keeps Retry-After or the ten-second window', () => {
  const now = () => 0;
  const tenSecondly = {
    code: 429,
    body: {
      status: 'error',
      message: 'You have reached your ten_secondly_rolling limit.',
      errorType: 'RATE_LIMIT',
      policyName: 'TEN_SECONDLY_ROLLING',
    },
    headers: {},
  };
  assert.deepEqual(
    [mapError(tenSecondly, now).kind, mapError(tenSecondly, now).retry_after_ms],
    ['rate_limited', 10_000],
  );
  assert.equal(mapError({ ...tenSecondly, headers: { 'retry-after': '3' } }, now).retry_after_ms, 3000);
  assert.equal(mapError({ code: 429, body: { policyName: 'DAILY' } }, now).retry_after_ms, 3_600_000);
  assert.equal(mapError({ code: 503, body: 'x' }, now).kind, 'transient');
  assert.equal(mapError({ code: 401, body: 'x' }, now).kind, 'auth');
  assert.equal(mapError({ code: 400, body: { category: 'VALIDATION_ERROR' } }, now).kind, 'invalid');
  assert.equal(mapError(new Error('connect ECONNREFUSED 127.0.0.1:1'), now).kind, 'transient');
  assert.doesNotMatch(
    mapError({ code: 401, body: 'Bearer pat-na1-secret-token rejected' }, now).message,
    /pat-na1-secret-token/,
  );
});

// Fixtures shaped like the SDK's ApiException ({ code, body, headers }) and Node network errors.
const RATE = { status: 'error', errorType: 'RATE_LIMIT', correlationId: 'c' };
const FIXTURES: [string, unknown, string, number?][] = [
  [
    'ten-secondly 429 with Retry-After',
    {
      code: 429,
      body: {
        ...RATE,
        message: 'You have reached your ten_secondly_rolling limit.',
        policyName: 'TEN_SECONDLY_ROLLING',
      },
      headers: { 'Retry-After': '2' },
    },
    'rate_limited',
    2000,
  ],
  [
    'ten-secondly 429, no header',
    {
      code: 429,
      body: {
        ...RATE,
        message: 'You have reached your ten_secondly_rolling limit.',
        policyName: 'TEN_SECONDLY_ROLLING',
      },
      headers: {},
    },
    'rate_limited',
    10_000,
  ],
  [
    'search secondly 429',
    { code: 429, body: { ...RATE, message: 'You have reached your secondly limit.' }, headers: {} },
    'rate_limited',
    1000,
  ],
  [
    'daily 429',
    { code: 429, body: { ...RATE, message: 'You have reached your daily limit.', policyName: 'DAILY' }, headers: {} },
    'rate_limited',
    3_600_000,
  ],
  [
    'Retry-After as HTTP date',
    { code: 429, body: RATE, headers: { 'retry-after': new Date(5000).toUTCString() } },
    'rate_limited',
    5000,
  ],
  ['500', { code: 500, body: { status: 'error', message: 'internal error' } }, 'transient'],
  ['502 non-JSON', { code: 502, body: '<html>Bad Gateway</html>' }, 'transient'],
  ['408', { code: 408, body: '' }, 'transient'],
  ['401', { code: 401, body: { status: 'error', category: 'INVALID_AUTHENTICATION' } }, 'auth'],
  ['403 missing scope', { code: 403, body: { status: 'error', category: 'MISSING_SCOPES' } }, 'auth'],
  ['404', { code: 404, body: { status: 'error', category: 'OBJECT_NOT_FOUND' } }, 'not_found'],
  [
    '400 validation',
    {
      code: 400,
      body: { status: 'error', category: 'VALIDATION_ERROR', errors: [{ code: 'INVALID_OPTION', in: 'state' }] },
    },
    'invalid',
  ],
  ['409 conflict', { code: 409, body: { status: 'error', category: 'CONFLICT' } }, 'invalid'],
  [
    'ECONNRESET',
    Object.assign(new Error('request to http://127.0.0.1/x failed, reason: socket hang up'), { code: 'ECONNRESET' }),
    'transient',
  ],
  ['timeout', new Error('network timeout at: http://127.0.0.1/x'), 'transient'],
  ['not an HTTP error', new TypeError('cannot read properties of undefined'), 'unknown'],
];

for (const [name, err, kind, wait] of FIXTURES) {
  test(`SDK error → ${kind}: ${name}`, () => {
    const r = mapError(err, () => 0);
    assert.equal(r.kind, kind);
    assert.equal(r.retry_after_ms, wait);
  });
}
