import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressOfRecord, userOf, parseZendeskEvent } from './mapping.ts';
import { verifyZendeskSignature, zendeskSignature } from './signature.ts';

const SECRET = 'zendesk-unit-secret';
const now = Date.UTC(2026, 11, 1, 12, 0, 0);
const ts = new Date(now).toISOString();

test('X-Zendesk-Webhook-Signature over timestamp + body; wrong, stale or missing fails', () => {
  const raw = Buffer.from('{"id":"1"}');
  const sig = zendeskSignature(SECRET, ts, raw.toString());
  assert.deepEqual(verifyZendeskSignature(raw, sig, ts, SECRET, now, 300), { ok: true });
  assert.equal(verifyZendeskSignature(raw, sig, ts, 'other-secret', now, 300).ok, false);
  assert.equal(verifyZendeskSignature(raw, sig, ts, SECRET, now + 301_000, 300).ok, false);
  assert.equal(verifyZendeskSignature(raw, sig, undefined, SECRET, now, 300).ok, false);
  assert.equal(verifyZendeskSignature(Buffer.from('{"id":"2"}'), sig, ts, SECRET, now, 300).ok, false);
});

test('a user event becomes a contact change of the Zendesk user; other events are unsupported', () => {
  const body = {
    id: '01ZD1',
    type: 'zen:event-type:user.identity_changed',
    time: ts,
    detail: { id: '9001', name: 'Jane Doe', email: 'jane@example.com', phone: '+13125551212' },
  };
  const [ev] = parseZendeskEvent(Buffer.from(JSON.stringify(body)), 'zendesk', now);
  assert.equal(ev!.delivery_id, '01ZD1');
  assert.deepEqual(ev!.event, {
    type: 'contact.updated',
    source: 'zendesk',
    external_id: '9001',
    contact: { given_name: 'Jane', family_name: 'Doe', email: 'jane@example.com', phone: '+13125551212' },
    vendor_fields: { name: 'Jane Doe', email: 'jane@example.com', phone: '+13125551212' },
    origin_is_hearth: false,
    occurred_at: now,
    version: now,
  });
  const other = parseZendeskEvent(Buffer.from('{"id":"2","type":"zen:event-type:ticket.created"}'), 'zendesk', now);
  assert.equal(other[0]!.event.type, 'unsupported');
  assert.throws(() => parseZendeskEvent(Buffer.from('{"type":"x"}'), 'zendesk', now), /id is required/);
});

test('support sees household, tier, points, billing status, subscriptions and the address as user fields', () => {
  const u = userOf({
    customer_id: 'cus_H1',
    external_id: null,
    given_name: 'Ana',
    family_name: 'Diaz',
    email: 'ana@example.com',
    phone: null,
    address: { line1: '1 Main St', line2: null, city: 'Chicago', region: 'IL', postal_code: '60614', country: 'US' },
    household_id: 'hh_1',
    hierarchy_role: 'head',
    loyalty_tier: 'gold',
    points_balance: 120,
    billing_status: 'past_due',
    billing_status_since: now,
    billing_address: null,
    subscriptions: [{ id: 'sub_1', name: 'Gold box', status: 'active' }],
  });
  assert.equal(u.external_id, 'cus_H1');
  assert.equal(u.name, 'Ana Diaz');
  assert.deepEqual(u.user_fields, {
    household_id: 'hh_1',
    hierarchy_role: 'head',
    loyalty_tier: 'gold',
    points_balance: 120,
    billing_status: 'past_due',
    billing_status_since: ts,
    subscriptions: 'Gold box (active)',
    address_of_record: '1 Main St, Chicago, IL 60614, US',
  });
});

test('the address of record reads back from its user field (reconciliation compares what agents see)', () => {
  assert.deepEqual(addressOfRecord('2200 North Lincoln Avenue, Apt 4B, Chicago, IL 60614, US'), {
    line1: '2200 North Lincoln Avenue',
    line2: 'Apt 4B',
    city: 'Chicago',
    region: 'IL',
    postal_code: '60614',
    country: 'US',
  });
  assert.equal(addressOfRecord('1 Main St, Chicago, IL 60614, US')?.line2, null);
  assert.deepEqual(addressOfRecord('somewhere'), { line1: 'somewhere' });
  assert.equal(addressOfRecord(null), null);
});

test('agent-set user fields: billing status is a billing change, the address of record the address', () => {
  const body = {
    id: '01ZD7',
    type: 'zen:event-type:user.custom_field_changed',
    time: ts,
    detail: {
      id: 9002,
      name: 'Jo Agent',
      email: 'jo@example.com',
      phone: null,
      user_fields: { billing_status: 'active', address_of_record: '1 Main St, Springfield, IL 62701, US' },
    },
  };
  const [contact, billing, ...rest] = parseZendeskEvent(Buffer.from(JSON.stringify(body)), 'zendesk', now);
  assert.deepEqual(rest, []);
  assert.equal(contact!.event.type === 'contact.updated' && contact!.event.contact.address?.postal_code, '62701');
  assert.equal(billing!.delivery_id, '01ZD7:billing_status');
  assert.deepEqual(billing!.event, {
    type: 'billing.status_changed',
    source: 'zendesk',
    external_id: '9002',
    contact: { email: 'jo@example.com' },
    status: 'active',
    reason: 'zendesk agent',
    occurred_at: now,
  });
  const unknown = { ...body, detail: { ...body.detail, user_fields: { billing_status: 'vip' } } };
  assert.equal(parseZendeskEvent(Buffer.from(JSON.stringify(unknown)), 'zendesk', now).length, 1, 'not a status');
});
