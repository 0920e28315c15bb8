import { DEFAULT_LOYALTY } from '../../loyalty/settings.ts';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSource } from '../../customers/customer-store.ts';
import { describeEachDialect } from '../../../test-support/dialects.ts';
import { setMembership, upsertHousehold } from '../../households/membership-store.ts';
import { newId } from '../../ids.ts';
import { tierOf } from '../../loyalty/tier-store.ts';
import type { Hearth } from '../../runtime.ts';
import { ADMIN_KEY, startTestHearth } from '../../../test-support/harness.ts';

describeEachDialect('GET /v1/identity/claims', (ctx) => {
  let hearth: Hearth;
  let readonlyKey = '';
  let head = '';
  let loner = '';
  let household = '';
  const get = (query: string, key = readonlyKey) =>
    hearth.app.inject({
      method: 'GET',
      url: `/v1/identity/claims${query}`,
      headers: key ? { authorization: `Bearer ${key}` } : {},
    });

  before(async () => {
    ({ hearth } = await startTestHearth(ctx, {}));
    const db = ctx.hdb().db;
    const now = Date.now();
    const customer = async (email: string) => {
      const id = newId('cus', now);
      await db
        .insertInto('customers')
        .values({
          id,
          given_name: null,
          family_name: null,
          email,
          email_normalized: email.toLowerCase(),
          phone: null,
          address_line1: null,
          address_line2: null,
          city: null,
          region: null,
          postal_code: null,
          country: null,
          address_key: null,
          address_source: null,
          address_validated_at: null,
          field_sources: '{}',
          merged_into: null,
          version: 1,
          created_at: now,
          updated_at: now,
        })
        .execute();
      return id;
    };
    head = await customer('Head@Example.com');
    loner = await customer('loner@example.com');
    household = await upsertHousehold(db, 'hubspot', 'company-9', 'Okafor household', now);
    await setMembership(
      db,
      head,
      { household_id: household, role: 'head', opt_in: true, source_system: 'hubspot' },
      now,
    );
    await linkSource(db, 'auth0', 'auth0|abc123', head, null, now);
    await linkSource(db, 'keycloak', '5f1c-kc', head, null, now);
    const created = await hearth.app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      payload: { name: 'auth0-action', role: 'readonly' },
    });
    readonlyKey = created.json().key;
  });
  after(() => hearth.close());

  test('by IdP subject (crosswalk), with a readonly key', async () => {
    const res = await get(`?subject=${encodeURIComponent('auth0|abc123')}`);
    assert.equal(res.statusCode, 200);
    const tier = await tierOf(ctx.hdb().db, head, Date.now(), DEFAULT_LOYALTY);
    assert.deepEqual(res.json(), {
      customer_id: head,
      household_id: household,
      hierarchy_role: 'head',
      points_aggregation_opt_in: true,
      tier,
    });
    const kc = await get('?subject=5f1c-kc&system=keycloak');
    assert.equal(kc.json().customer_id, head);
    assert.equal((await get('?subject=5f1c-kc&system=auth0')).statusCode, 404);
  });

  test('by e-mail (case-insensitive); no household gives nulls', async () => {
    assert.equal((await get('?email=HEAD@example.com')).json().household_id, household);
    const res = await get('?email=loner@example.com');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), {
      customer_id: loner,
      household_id: null,
      hierarchy_role: null,
      points_aggregation_opt_in: false,
      tier: await tierOf(ctx.hdb().db, loner, Date.now(), DEFAULT_LOYALTY),
    });
  });

  test('an unknown subject falls back to the e-mail when both are given', async () => {
    const res = await get(`?subject=${encodeURIComponent('auth0|new-login')}&email=head@example.com`);
    assert.equal(res.json().customer_id, head);
  });

  test('unknown subject or e-mail 404; neither 400; bad e-mail 400; no key 401', async () => {
    const unknown = await get('?subject=nobody');
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error.code, 'not_found');
    assert.equal((await get('?email=nobody@example.com')).statusCode, 404);
    const neither = await get('');
    assert.equal(neither.statusCode, 400);
    assert.match(neither.json().error.message, /subject.*email/);
    assert.equal((await get('?email=x')).statusCode, 400);
    assert.equal((await get('?email=not-an-address')).statusCode, 400);
    assert.equal((await get('?subject=auth0%7Cabc123&system=okta')).statusCode, 400);
    assert.equal((await get('?subject=auth0%7Cabc123', '')).statusCode, 401);
  });
});
