import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChangeEvents } from './index.ts';

const req = (body: unknown) => ({
  rawBody: Buffer.from(JSON.stringify(body)),
  headers: {},
  method: 'POST',
  url: 'http://h/webhooks/salesforce',
  now: 5,
});
const header = (changedFields: string[], nulledFields: string[] = [], changeOrigin = '') => ({
  entityName: 'Contact',
  recordIds: ['0035g00000AbCdEAAZ'],
  changeType: 'UPDATE',
  changeOrigin,
  commitTimestamp: 1714650000000,
  nulledFields,
  changedFields,
});

test('a ContactChangeEvent on AccountId adds a household.changed event after the update', () => {
  const events = parseChangeEvents(
    req({
      replayId: 42,
      ChangeEventHeader: header(['AccountId', 'Points_Aggregation_Opt_In__c']),
      AccountId: '0015g00000HhAAA',
      Points_Aggregation_Opt_In__c: true,
    }),
    'hearth',
  );
  assert.deepEqual(
    events.map((e) => [e.delivery_id, e.event.type]),
    [
      ['42', 'contact.updated'],
      ['42:household', 'household.changed'],
    ],
  );
  assert.deepEqual(
    (events[0]!.event as { vendor_fields: unknown }).vendor_fields,
    { Points_Aggregation_Opt_In__c: 'true' },
    'custom fields travel as strings',
  );
  assert.deepEqual((events[1]!.event as { joined: unknown }).joined, {
    household_external_id: '0015g00000HhAAA',
    role: null,
    primary: true,
  });
});

test('a nulled AccountId leaves the household; an unrelated change adds nothing', () => {
  const left = parseChangeEvents(
    req({ replayId: 43, ChangeEventHeader: header(['AccountId'], ['AccountId']) }),
    'hearth',
  );
  assert.equal((left[1]!.event as { left: string }).left, '*');
  const city = parseChangeEvents(
    req({ replayId: 44, ChangeEventHeader: header(['MailingAddress.City']), MailingAddress: { City: 'Austin' } }),
    'hearth',
  );
  assert.equal(city.length, 1);
  const ours = parseChangeEvents(
    req({
      replayId: 45,
      ChangeEventHeader: header(['AccountId'], [], 'com/salesforce/api/rest/62.0;client=hearth'),
      AccountId: '0015g00000HhAAA',
    }),
    'hearth',
  );
  assert.equal((ours[1]!.event as { origin_is_hearth: boolean }).origin_is_hearth, true);
});

test(
  'an AccountChangeEvent with a new primary contact names ' +
    'that contact head; other Account changes are unsupported',
  () => {
    const [ev] = parseChangeEvents(
      req({
        replayId: 50,
        ChangeEventHeader: {
          ...header(['npe01__One2OneContact__c']),
          entityName: 'Account',
          recordIds: ['0015g00000HhAAA'],
        },
        npe01__One2OneContact__c: '0035g00000AbCdEAAZ',
      }),
      'hearth',
    );
    assert.deepEqual(ev!.event, {
      type: 'household.changed',
      source: 'salesforce',
      external_id: '0035g00000AbCdEAAZ',
      contact: {},
      joined: { household_external_id: '0015g00000HhAAA', role: 'head', primary: true },
      origin_is_hearth: false,
      occurred_at: 1714650000000,
    });
    const [other] = parseChangeEvents(
      req({
        replayId: 51,
        ChangeEventHeader: { ...header(['Name']), entityName: 'Account', recordIds: ['0015g00000HhAAA'] },
        Name: 'Renamed',
      }),
      'hearth',
    );
    assert.equal(other!.event.type, 'unsupported');
  },
);
