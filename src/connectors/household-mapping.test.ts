import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOptIn } from '../canonical/opt-in.ts';
import {
  hubspotCompanyHousehold,
  hubspotLabelHousehold,
  type HubSpotAssociation,
} from './hubspot/household-mapping.ts';
import { npspHousehold, sameSalesforceId } from './salesforce/household-mapping.ts';
import { zohoHousehold } from './zoho/household-mapping.ts';

const unlabeled = (id: string): HubSpotAssociation => ({
  toObjectId: id,
  associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId: 279 }],
});
const primary = (id: string, label?: string): HubSpotAssociation => ({
  toObjectId: id,
  associationTypes: [
    { category: 'HUBSPOT_DEFINED', typeId: 1, label: 'Primary' },
    { category: 'HUBSPOT_DEFINED', typeId: 279 },
    ...(label ? [{ category: 'USER_DEFINED', typeId: 11, label }] : []),
  ],
});
const labelled = (id: string, label: string): HubSpotAssociation => ({
  toObjectId: id,
  associationTypes: [
    { category: 'HUBSPOT_DEFINED', typeId: 449 },
    { category: 'USER_DEFINED', typeId: 12, label },
  ],
});
const HEAD = ['Head of household', 'Primary contact'];

describe('parseOptIn', () => {
  it('counts only an explicit yes as consent', () => {
    for (const v of ['true', 'TRUE', ' yes ', '1', 'on', true, 1]) assert.equal(parseOptIn(v), true, String(v));
    for (const v of ['false', '', null, undefined, 'no', '0', 0, false, 'maybe'])
      assert.equal(parseOptIn(v), false, String(v));
  });
});

describe('hubspotCompanyHousehold', () => {
  it('takes the primary company as the household and a head label as head', () => {
    const link = hubspotCompanyHousehold(
      [unlabeled('900'), primary('901', 'Head of household')],
      new Map([['901', 'The Smiths']]),
      HEAD,
      'true',
    );
    assert.deepEqual(link, { household: { external_id: '901', name: 'The Smiths' }, role: 'head', opt_in: true });
  });
  it('falls back to the lowest company id and makes an unlabelled contact a member', () => {
    const link = hubspotCompanyHousehold([unlabeled('9000'), unlabeled('950')], new Map(), HEAD, null);
    assert.deepEqual(link, { household: { external_id: '950', name: null }, role: 'member', opt_in: false });
  });
  it('matches head labels case-insensitively', () => {
    assert.equal(hubspotCompanyHousehold([primary('7', 'primary CONTACT')], new Map(), HEAD, 'false').role, 'head');
  });
  it('gives no household to a contact with no company', () => {
    assert.deepEqual(hubspotCompanyHousehold([], new Map(), HEAD, 'true'), {
      household: null,
      role: 'member',
      opt_in: true,
    });
  });
});

describe('hubspotLabelHousehold', () => {
  const labels = { head: ['Head of household'], member: ['Household member'] };
  it('a contact whose associated contact is labelled head is a member of that head household', () => {
    assert.deepEqual(hubspotLabelHousehold('502', [labelled('501', 'Head of household')], labels, 'yes'), {
      household: { external_id: 'contact:501', name: null },
      role: 'member',
      opt_in: true,
    });
  });
  it('a contact with labelled members is the head of its own household', () => {
    assert.deepEqual(
      hubspotLabelHousehold(
        '501',
        [labelled('502', 'Household member'), labelled('503', 'Household member')],
        labels,
        null,
      ),
      { household: { external_id: 'contact:501', name: null }, role: 'head', opt_in: false },
    );
  });
  it('unlabelled contact associations make no household', () => {
    assert.equal(hubspotLabelHousehold('501', [unlabeled('502')], labels, null).household, null);
  });
});

describe('npspHousehold', () => {
  const hh = {
    Id: '0015g00000HHAAA',
    Name: 'Smith Household',
    RecordType: { DeveloperName: 'HH_Account' },
    npe01__One2OneContact__c: '0035g00000ABCDE',
  };
  it('the primary contact of a Household Account is its head (15- and 18-character ids)', () => {
    assert.deepEqual(npspHousehold('0035g00000ABCDEAAZ', hh, true), {
      household: { external_id: '0015g00000HHAAA', name: 'Smith Household' },
      role: 'head',
      opt_in: true,
    });
    assert.equal(npspHousehold('0035g00000XYZWVAAZ', hh, false).role, 'member');
  });
  it('recognises the system account type and ignores organisation accounts', () => {
    assert.ok(npspHousehold('003x', { Id: '001a', npe01__SYSTEM_AccountType__c: 'Household Account' }, null).household);
    assert.equal(
      npspHousehold('003x', { Id: '001b', RecordType: { DeveloperName: 'Organization' } }, 'true').household,
      null,
    );
    assert.equal(npspHousehold('003x', undefined, 'true').household, null);
  });
  it('compares Salesforce ids on 15 characters', () => {
    assert.equal(sameSalesforceId('0035g00000ABCDEAAZ', '0035g00000ABCDE'), true);
    assert.equal(sameSalesforceId('0035g00000ABCDEAAZ', '0035g00000abcdeAAZ'), false);
    assert.equal(sameSalesforceId(null, null), false);
  });
});

describe('zohoHousehold', () => {
  const cfg = { household_account_type: 'Household', primary_contact_field: 'Primary_Contact' };
  const account = {
    id: '59001',
    Account_Name: 'Lee Family',
    Account_Type: 'Household',
    Primary_Contact: { id: '59100', name: 'Ann Lee' },
  };
  it('the Account is the household and its primary contact the head', () => {
    assert.deepEqual(zohoHousehold('59100', account, cfg, 'true'), {
      household: { external_id: '59001', name: 'Lee Family' },
      role: 'head',
      opt_in: true,
    });
    assert.equal(zohoHousehold('59101', account, cfg, 'false').role, 'member');
  });
  it('other account types are not households unless the type filter is off', () => {
    const org = { ...account, Account_Type: 'Customer' };
    assert.equal(zohoHousehold('59100', org, cfg, null).household, null);
    assert.ok(zohoHousehold('59100', org, { ...cfg, household_account_type: null }, null).household);
  });
});
