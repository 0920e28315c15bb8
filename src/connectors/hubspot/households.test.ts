import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEvents } from './index.ts';

const req = (body: unknown) => ({
  rawBody: Buffer.from(JSON.stringify(body)),
  headers: {},
  method: 'POST',
  url: 'http://h/webhooks/hubspot',
  now: 0,
});
const base = {
  eventId: 7,
  subscriptionId: 1,
  portalId: 2,
  appId: 3,
  occurredAt: 1714650000000,
  subscriptionType: 'contact.associationChange',
  attemptNumber: 0,
  changeSource: 'CRM_UI',
  sourceId: 'userId:1',
};

test('contact.associationChange to a company becomes household.changed (joined / left)', () => {
  const [joined, left] = parseEvents(
    req([
      {
        ...base,
        associationType: 'CONTACT_TO_COMPANY',
        fromObjectId: 512,
        toObjectId: 9001,
        associationRemoved: false,
        isPrimaryAssociation: true,
      },
      {
        ...base,
        eventId: 8,
        associationType: 'CONTACT_TO_COMPANY',
        fromObjectId: 512,
        toObjectId: 9000,
        associationRemoved: true,
        isPrimaryAssociation: false,
      },
    ]),
    '3',
  );
  assert.equal(joined!.delivery_id, '7:1714650000000');
  assert.deepEqual(joined!.event, {
    type: 'household.changed',
    source: 'hubspot',
    external_id: '512',
    contact: {},
    origin_is_hearth: false,
    occurred_at: 1714650000000,
    joined: { household_external_id: '9001', role: null, primary: true },
  });
  assert.deepEqual(left!.event, {
    type: 'household.changed',
    source: 'hubspot',
    external_id: '512',
    contact: {},
    origin_is_hearth: false,
    occurred_at: 1714650000000,
    left: '9000',
  });
});

test('other association pairs are unsupported; a missing id is a 400 naming the field', () => {
  const [other] = parseEvents(
    req([{ ...base, associationType: 'CONTACT_TO_DEAL', fromObjectId: 1, toObjectId: 2, associationRemoved: false }]),
    '3',
  );
  assert.deepEqual(other!.event, {
    type: 'unsupported',
    source: 'hubspot',
    vendor_type: 'contact.associationChange:CONTACT_TO_DEAL',
  });
  assert.throws(
    () => parseEvents(req([{ ...base, associationType: 'CONTACT_TO_COMPANY', toObjectId: 2 }]), '3'),
    /event\[0\]\.fromObjectId is required/,
  );
});

test("an association Hearth's own app made is marked as its echo", () => {
  const [ours] = parseEvents(
    req([
      {
        ...base,
        changeSource: 'INTEGRATION',
        sourceId: '3',
        associationType: 'CONTACT_TO_COMPANY',
        fromObjectId: 1,
        toObjectId: 2,
        associationRemoved: false,
      },
    ]),
    '3',
  );
  assert.equal((ours!.event as { origin_is_hearth: boolean }).origin_is_hearth, true);
});

test(
  'a removed contact-to-contact pair leaves the household ' +
    'keyed by the other contact; an added one is for the pull',
  () => {
    const [removed, added] = parseEvents(
      req([
        {
          ...base,
          associationType: 'CONTACT_TO_CONTACT',
          fromObjectId: 502,
          toObjectId: 501,
          associationRemoved: true,
        },
        {
          ...base,
          eventId: 9,
          associationType: 'CONTACT_TO_CONTACT',
          fromObjectId: 502,
          toObjectId: 501,
          associationRemoved: false,
        },
      ]),
      '3',
    );
    assert.equal((removed!.event as { left: string }).left, 'contact:501');
    assert.equal(added!.event.type, 'unsupported');
  },
);
