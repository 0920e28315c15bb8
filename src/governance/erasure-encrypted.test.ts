import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startHubSpotSim, type HubSpotSim } from '../../sim/hubspot.ts';
import { describeEachDialect } from '../../test-support/dialects.ts';
import { call, contactUpdate, ingest } from '../../test-support/governance.ts';
import { ADMIN_KEY, startTestHearth } from '../../test-support/harness.ts';
import type { Hearth } from '../runtime.ts';
import { newId } from '../ids.ts';

const key = () => randomBytes(32).toString('base64');
const security = { data_keys: { k1: key() }, current_key: 'k1', lookup_key: key() };
const ANA = { given_name: 'Anastasia', family_name: 'Quill', email: 'ana.hidden@example.com', phone: '+15550001234' };
const BO = { given_name: 'Borislav', family_name: 'Penn', email: 'bo.kept@example.com' };

/**
 * Erasure while inbox payloads are encrypted (a data key is set): a text search of the stored
 * payloads finds nothing, so the events that carried the person are found through the subjects
 * index the apply loop writes, and payloads never indexed (stored before the index, or parked
 * failed) are decrypted and read.
 */
describeEachDialect('erasure with encryption at rest', (ctx) => {
  let hearth: Hearth;
  let crm: HubSpotSim;
  const raw = () => ctx.hdb().db; // stored values as they are
  const clear = () => hearth.hdb.db; // values decrypted on read

  before(async () => {
    crm = await startHubSpotSim();
    ({ hearth } = await startTestHearth(ctx, {
      security,
      connectors: { hubspot: { access_token: crm.token, base_url: crm.url } },
    }));
  });
  after(async () => {
    await hearth.close();
    await crm.close();
  });

  test('every inbox payload that carried the person is blanked, found by index and by decrypting', async () => {
    const hs = crm.createContact({ email: ANA.email, firstname: ANA.given_name });
    await ingest(hearth, hearth.hdb, [contactUpdate('hubspot', hs, ANA), contactUpdate('hubspot', '7702', BO)]);
    // The same values again: applied without a change-log row (the index still names her).
    await ingest(hearth, hearth.hdb, [contactUpdate('hubspot', hs, ANA)]);
    // A change received before the index existed: its subjects are gone, only decrypting finds it.
    await ingest(hearth, hearth.hdb, [contactUpdate('hubspot', hs, { ...ANA, family_name: 'Quill-Ray' })]);
    const preIndex = await clear()
      .selectFrom('inbox_events')
      .select(['id', 'payload'])
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    assert.match(preIndex.payload, /Quill-Ray/);
    await raw().deleteFrom('inbox_subjects').where('event_id', '=', preIndex.id).execute();
    // An event parked failed (never applied, never indexed) naming her e-mail under another record.
    const parked = newId('evt', Date.now());
    await clear()
      .insertInto('inbox_events')
      .values({
        id: parked,
        connector: 'hubspot',
        delivery_id: `parked-${parked}`,
        event_type: 'contact.updated',
        payload: JSON.stringify(contactUpdate('hubspot', '7799', { email: 'ANA.hidden@example.com' })),
        status: 'failed',
        attempts: 5,
        error: 'poisoned',
        received_at: Date.now(),
        applied_at: Date.now(),
      })
      .execute();

    // At rest nothing reads as her: the old LIKE scan would have found nothing to blank.
    const stored = await raw().selectFrom('inbox_events').select('payload').execute();
    assert.ok(stored.length >= 5);
    assert.ok(stored.every((r) => r.payload.startsWith('enc1:')));
    const like = await raw().selectFrom('inbox_events').select('id').where('payload', 'like', '%ana.hidden%').execute();
    assert.deepEqual(like, []);
    const indexed = await raw().selectFrom('inbox_subjects').select('event_id').execute();
    assert.ok(indexed.length > 0, 'the apply loop indexed the events');
    for (const s of await raw().selectFrom('inbox_subjects').select('subject').execute())
      assert.doesNotMatch(s.subject, /ana|hidden|example|@/i, 'subjects are keyed hashes or ids');

    const ana = (await call(hearth, 'GET', `/v1/customers?email=${encodeURIComponent(ANA.email)}`)).body.data[0];
    const res = await hearth.app.inject({
      method: 'DELETE',
      url: `/v1/customers/${ana.id}`,
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    assert.equal(res.statusCode, 200, res.body);

    const now = await clear().selectFrom('inbox_events').select(['id', 'payload', 'status', 'redacted_at']).execute();
    const naming = now.filter((r) => /ana\.hidden|Anastasia|Quill/i.test(r.payload));
    assert.deepEqual(naming, [], 'no inbox payload names her, decrypted');
    const blanked = now.filter((r) => r.redacted_at !== null).map((r) => r.id);
    assert.ok(blanked.includes(preIndex.id), 'the event stored before the index was found by decrypting');
    assert.ok(blanked.includes(parked), 'the parked event was found by decrypting');
    assert.ok(blanked.length >= 4, 'her three events and the parked one');
    assert.equal(now.find((r) => r.id === parked)?.status, 'ignored');
    assert.ok(
      now.some((r) => r.payload.includes('bo.kept@example.com')),
      'his event is untouched',
    );
    const left = await raw().selectFrom('inbox_subjects').select('event_id').where('event_id', 'in', blanked).execute();
    assert.deepEqual(left, [], 'the blanked events are no longer indexed');
    // Still encrypted at rest after blanking.
    const rows = await raw().selectFrom('inbox_events').select('payload').where('id', 'in', blanked).execute();
    assert.ok(rows.every((r) => r.payload.startsWith('enc1:')));
  });
});
