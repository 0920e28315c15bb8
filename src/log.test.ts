import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, scrubPii, scrubSecrets } from './log.ts';

test('scrubSecrets removes bearer tokens, keyed secrets and URL passwords', () => {
  const text =
    'HTTP 401 Authorization: Bearer pat-na1-abc.def {"access_token":"xyz123","hapikey":"k1"} ' +
    'postgres://u:pw@h/db?token=t0k';
  const clean = scrubSecrets(text);
  for (const secret of ['pat-na1-abc.def', 'xyz123', 'k1', ':pw@', 't0k'])
    assert.ok(!clean.includes(secret), `${secret} left in ${clean}`);
  assert.match(clean, /Bearer \[redacted\]/);
});

test('the logger redacts credential fields', () => {
  let out = '';
  const sink = new Writable({
    write(chunk, _e, cb) {
      out += chunk;
      cb();
    },
  });
  createLogger('info', sink).info(
    {
      connectors: { hubspot: { access_token: 'pat-secret', client_secret: 'cs' } },
      headers: { authorization: 'Bearer x' },
    },
    'config',
  );
  assert.doesNotMatch(out, /pat-secret|"cs"|Bearer x/);
  assert.match(out, /\[redacted\]/);
});

test('scrubPii hashes e-mails and removes phones and street lines; scrubSecrets includes it', () => {
  const text =
    'no HubSpot contact with email Maria.Garcia@example.com; phone +13125551212 or (312) 555-1212; ' +
    'ships to 2200 North Lincoln Avenue Apt 4B and 12 Oak Ave.';
  const clean = scrubSecrets(text);
  for (const pii of ['Maria.Garcia', 'example.com', '3125551212', '555-1212', 'Lincoln', 'Oak'])
    assert.ok(!clean.includes(pii), `${pii} left in ${clean}`);
  assert.match(clean, /\[email:[0-9a-f]{10}\]/);
  assert.equal(scrubPii('maria.garcia@example.com'), scrubPii('Maria.Garcia@Example.com'), 'same person, same tag');
  assert.equal(scrubPii('applied 12 events in 1 run at 1764554251000'), 'applied 12 events in 1 run at 1764554251000');
});

test('every log line is scrubbed, whatever field carries the PII', () => {
  let out = '';
  const sink = new Writable({
    write(chunk, _e, cb) {
      out += chunk;
      cb();
    },
  });
  const log = createLogger('info', sink);
  log.warn({ error: 'no contact with email ann@example.com', url: '/v1/customers?email=bo@example.com' }, 'x');
  log.info('ship to 12 Oak Avenue, call +13125551212');
  assert.doesNotMatch(out, /@example\.com|Oak Avenue|3125551212/);
  for (const line of out.trim().split('\n')) JSON.parse(line);
});

test('request lines carry the path, never the query string', () => {
  let out = '';
  const sink = new Writable({
    write(chunk, _e, cb) {
      out += chunk;
      cb();
    },
  });
  createLogger('info', sink).info(
    { req: { method: 'GET', url: '/v1/customers?email=x%40y.io&phone=1' } },
    'incoming request',
  );
  assert.match(out, /"path":"\/v1\/customers"/);
  assert.doesNotMatch(out, /email=|x%40y/);
});
