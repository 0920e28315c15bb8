import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CanonicalEvent } from '../canonical/types.ts';
import { linkKey, type BatchState } from './batch-state.ts';
import { freshChange, rememberVersion } from './stale-change.ts';

type ContactUpdate = Extract<CanonicalEvent, { type: 'contact.updated' }>;

function stateWith(snapshot: Record<string, string | null> | null): BatchState {
  const link = { system: 'zendesk', external_id: 'u1', customer_id: 'cus_1', snapshot, created_at: 0 };
  return { links: new Map([[linkKey('zendesk', 'u1'), link]]), dirtyLinks: new Set() } as unknown as BatchState;
}

function update(contact: ContactUpdate['contact'], version?: number): ContactUpdate {
  return {
    type: 'contact.updated',
    source: 'zendesk',
    external_id: 'u1',
    contact,
    vendor_fields: {},
    origin_is_hearth: false,
    occurred_at: 0,
    ...(version === undefined ? {} : { version }),
  };
}

test('an older change to another field still applies; an older change to the same field does not', () => {
  const state = stateWith(null);
  rememberVersion(state, update({ phone: '+15125550100' }, 200));
  assert.deepEqual(state.links.get(linkKey('zendesk', 'u1'))!.snapshot, { 'hearth:version:phone': '200' });
  const name = update({ given_name: 'Ana' }, 100);
  assert.equal(freshChange(state, name), name);
  assert.equal(freshChange(state, update({ phone: '+15125550199' }, 100)), null);
  // The same version is not older: two attributes changed in the same second both apply.
  assert.ok(freshChange(state, update({ phone: '+15125550199' }, 200)));
});

test('a change carrying a stale field and a fresh one applies without the stale one', () => {
  const state = stateWith({ 'hearth:version:phone': '300' });
  const fresh = freshChange(state, update({ given_name: 'Ana', phone: '+15125550199' }, 250));
  assert.deepEqual(fresh?.contact, { given_name: 'Ana' });
});

test("an earlier release's record-wide version still guards fields without their own", () => {
  const state = stateWith({ 'hearth:version': '500', 'hearth:version:email': '400' });
  assert.equal(freshChange(state, update({ phone: '+15125550199' }, 450)), null);
  assert.ok(freshChange(state, update({ email: 'a@example.com' }, 450)));
  const unversioned = update({ phone: null });
  assert.equal(freshChange(state, unversioned), unversioned);
});
