import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, scrubSecrets } from './log.ts';

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
