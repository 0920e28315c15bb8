import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanonicalContact, InboundEvent } from '../canonical/types.ts';
import { parseConfig } from '../config/loader.ts';
import { applyPendingEvents } from '../engine/apply-loop.ts';
import { storeDeliveries } from '../engine/inbox.ts';
import { createEventApplier } from '../flows/apply-events.ts';
import { engineContext } from '../runtime.ts';
import { main } from '../main.ts';
import { captureIo } from '../../test-support/test-io.ts';
import { describeEachDialect, type DialectContext } from '../../test-support/dialects.ts';
import { comparePair, unpackPattern } from './comparators.ts';
import { DEFAULT_MATCH_CONFIG, matchRecords } from './engine.ts';
import { explainPair } from './fellegi-sunter.ts';
import { deserializeModel, latestModel, listModels, serializeModel, trainIdentityModel } from './model-store.ts';
import { buildNicknameIndex } from './nicknames.ts';
import { createPreparer } from './prepare.ts';
import type { PersonRecord } from './types.ts';
import { T0, checkout, crmContact } from '../../test-support/ingest-events.ts';

const GIVEN = ['Alice', 'Bruno', 'Chiara', 'Dmitri', 'Elena', 'Farid', 'Greta', 'Hiro', 'Ines', 'Jonas'];
const FAMILY = ['Abbott', 'Baker', 'Castillo', 'Dubois', 'Eriksen', 'Fischer', 'Gallo', 'Haddad', 'Ivanova'];

/** Distinct people, plus a second record (typo, other email) for every fifth one. */
function people(n: number): PersonRecord[] {
  const out: PersonRecord[] = [];
  for (let i = 0; i < n; i++) {
    const given = GIVEN[i % GIVEN.length]!;
    const family = FAMILY[(i * 7) % FAMILY.length]!;
    const fields = {
      given_name: given,
      family_name: family,
      email: `${given}.${family}${i}@gmail.com`.toLowerCase(),
      phone: `(217) 555-${String(1000 + i)}`,
      address_line1: `${10 + i} Oak Avenue`,
      city: 'Springfield',
      region: 'IL',
      postal_code: `627${String(i % 50).padStart(2, '0')}`,
      country: 'US',
    };
    out.push({ id: `p${i}`, fields });
    if (i % 5 === 0)
      out.push({ id: `p${i}-dup`, fields: { ...fields, given_name: `${given}e`, email: `${given}${i}@mail.example` } });
  }
  return out;
}

test('a stored model scores pairs of common values as the fitted batch model does', () => {
  const records = people(200);
  const { model } = matchRecords(records, DEFAULT_MATCH_CONFIG);
  const stored = serializeModel(model, records.length);
  const loaded = deserializeModel(JSON.parse(JSON.stringify(stored)));
  // Every name here is shared by 20+ records: all kept (ten given names and two typo variants
  // of them in the duplicates), and the one street all live on. Values fewer than five
  // records have are not stored (no single customer's value is).
  const field = (name: string) => stored.fields.find((f) => f.name === name)!.tf;
  assert.equal(field('given_name')!.values.length, GIVEN.length + 2);
  assert.equal(field('family_name')!.values.length, FAMILY.length);
  assert.deepEqual(
    field('street_address')!.values.map(([v]) => v),
    ['oakave'],
  );
  // Postcodes: 4-6 records each; only those with five or more are stored.
  const kept = field('locality')!.values.map(([v]) => v);
  const count = (pc: string) => records.filter((r) => r.fields.postal_code === pc).length;
  assert.ok(kept.length > 0 && kept.every((pc) => count(pc) >= 5));
  assert.ok(records.some((r) => count(r.fields.postal_code!) < 5 && !kept.includes(r.fields.postal_code!)));
  const prepare = createPreparer({ defaultCountry: 'US' });
  const ctx = { nicknames: buildNicknameIndex() };
  for (const [x, y] of [
    [0, 1],
    [0, 2],
    [5, 17],
  ] as const) {
    const a = prepare(records[x]!.fields);
    const b = prepare(records[y]!.fields);
    const levels = unpackPattern(comparePair(a, b, ctx));
    const names = (m: typeof model) =>
      explainPair(m, levels, a)
        .fields.filter((f) => f.field.endsWith('_name'))
        .map((f) => [f.weight, f.tf_adjustment]);
    assert.deepEqual(names(loaded), names(model));
  }
});

test('a stored field whose levels no longer match the code keeps the built-in defaults', () => {
  const { model } = matchRecords(people(50), DEFAULT_MATCH_CONFIG);
  const stored = serializeModel(model, 60);
  const dob = stored.fields.find((f) => f.name === 'date_of_birth')!;
  dob.levels = ['different', 'exact'];
  dob.m = [0.5, 0.5];
  const loaded = deserializeModel(stored);
  const f = stored.fields.indexOf(dob);
  assert.notDeepEqual(loaded.m[f], [0.5, 0.5]);
  assert.deepEqual(loaded.m[0], model.m[0]);
});

const ctxFor = (enabled: boolean) => engineContext(parseConfig({ database: 'sqlite::memory:', identity: { enabled } }));

async function ingest(ctx: DialectContext, connector: string, events: InboundEvent[], matching = true): Promise<void> {
  await storeDeliveries(ctx.hdb().db, connector, events, T0);
  for (;;) {
    const report = await applyPendingEvents(ctx.hdb(), createEventApplier(ctxFor(matching)), 100, () => T0 + 1000);
    assert.equal(report.failed, 0);
    if (report.applied + report.ignored + report.echo === 0) return;
  }
}

const contactOf = (p: PersonRecord): CanonicalContact => ({
  given_name: p.fields.given_name!,
  family_name: p.fields.family_name!,
  email: p.fields.email!,
  phone: p.fields.phone!,
  address: {
    line1: p.fields.address_line1!,
    city: p.fields.city!,
    region: p.fields.region!,
    postal_code: p.fields.postal_code!,
    country: 'US',
  },
});

/** The same gmail address written another way: the canonical form agrees, the stored email does not. */
const otherSpelling = (p: PersonRecord): string => `${p.fields.email!.replace('.', '').replace('@', '+shop@')}`;

/** The version each decision about this storefront record recorded: change-log actor or review item. */
async function decidedBy(ctx: DialectContext, id: string): Promise<{ actor: string | null; review: unknown }> {
  const db = ctx.hdb().db;
  const link = await db
    .selectFrom('change_log')
    .select('actor')
    .where('field', '=', 'source_link')
    .where('new_value', '=', `shopify:${id}`)
    .executeTakeFirst();
  const review = await db
    .selectFrom('review_items')
    .select(['model_version', 'explanation'])
    .where('kind', '=', 'match')
    .where('event_id', 'is not', null)
    .orderBy('created_at', 'desc')
    .execute();
  return { actor: link?.actor ?? null, review };
}

describeEachDialect('identity model at ingest', (ctx) => {
  test('ingest scores with the latest trained version and records it on each link and review item', async () => {
    const db = ctx.hdb().db;
    // A backfill with matching off: the stored customers include unlinked duplicates, which is
    // what EM learns the match class from.
    const all = people(300);
    await ingest(
      ctx,
      'hubspot',
      all.map((p) => crmContact(p.id, contactOf(p))),
      false,
    );
    const crm = all.filter((p) => !p.id.endsWith('-dup'));
    assert.equal((await latestModel(db)).version, null, 'no model before training');
    await assert.rejects(trainIdentityModel(db, { now: T0, trainedBy: 'test', minPairs: 1e9 }), /too few/);
    assert.equal((await latestModel(db)).version, null, 'a refused training stores nothing');

    // Before any training: the built-in defaults decide, and say so.
    const first = crm[3]!;
    await ingest(ctx, 'shopify', [
      checkout(
        's-1',
        { ...contactOf(first), given_name: `${first.fields.given_name}a`, email: otherSpelling(first) },
        contactOf(first).address!,
      ),
    ]);
    assert.match((await decidedBy(ctx, 's-1')).actor ?? '', / model=defaults$/);

    const trained = await trainIdentityModel(db, { now: T0 + 2000, trainedBy: 'test' });
    assert.equal(trained.version, 1);
    assert.equal(trained.records, all.length);
    const latest = await latestModel(db);
    assert.equal(latest.version, 1);
    assert.ok(latest.model.lambda > 0 && latest.model.lambda < 1);

    // A sure match (one-letter typo, same email, phone and address) auto-links under v1.
    const sure = crm[7]!;
    await ingest(ctx, 'shopify', [
      checkout(
        's-2',
        { ...contactOf(sure), given_name: `${sure.fields.given_name}a`, email: otherSpelling(sure) },
        contactOf(sure).address!,
      ),
    ]);
    assert.match((await decidedBy(ctx, 's-2')).actor ?? '', /^identity:auto_link p=\S+ model=v1$/);

    // An uncertain one (same name and address, another email, no phone) is queued for review
    // with the version that scored it.
    const unsure = crm[11]!;
    await ingest(ctx, 'shopify', [
      checkout(
        's-3',
        { ...contactOf(unsure), email: 'someone.else@example.org', phone: null },
        contactOf(unsure).address!,
      ),
    ]);
    const { actor, review } = await decidedBy(ctx, 's-3');
    assert.equal(actor, null, 'not linked automatically');
    const items = review as { model_version: number | null; explanation: string }[];
    assert.ok(items.length >= 1, 'queued for review');
    assert.equal(Number(items[0]!.model_version), 1);
    assert.equal((JSON.parse(items[0]!.explanation) as { model: string }).model, 'v1');

    const second = await trainIdentityModel(db, { now: T0 + 3000, trainedBy: 'test' });
    assert.equal(second.version, 2);
    assert.deepEqual(
      (await listModels(db)).map((m) => m.version),
      [2, 1],
    );
    assert.equal((await latestModel(db)).version, 2);

    // The same through the command line.
    const train = captureIo();
    assert.equal(await main(['identity', 'train', '--db', ctx.url(), '--json'], train.io), 0, train.err());
    assert.equal((JSON.parse(train.out()) as { version: number }).version, 3);
    const models = captureIo();
    assert.equal(await main(['identity', 'models', '--db', ctx.url(), '--json'], models.io), 0, models.err());
    assert.deepEqual(
      (JSON.parse(models.out()) as { version: number; trained_by: string }[]).map((m) => [m.version, m.trained_by]),
      [
        [3, 'cli'],
        [2, 'test'],
        [1, 'test'],
      ],
    );
  });
});
