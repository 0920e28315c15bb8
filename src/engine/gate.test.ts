import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlagSnapshot } from '../governance/flags.ts';
import { claimFilter, gateOf, type GatePlan } from './gate.ts';

const plan = (all: GatePlan['all'], byKind: Record<string, GatePlan['all']> = {}): GatePlan => ({
  all,
  byKind: new Map(Object.entries(byKind)),
});

test('claim filter: held kinds are never claimed; a held connector claims only its un-held flows', () => {
  assert.equal(claimFilter(plan('send')), null);
  assert.deepEqual(claimFilter(plan('send', { 'crm.address_write': 'hold' })), { except: ['crm.address_write'] });
  assert.equal(claimFilter(plan('hold')), 'hold');
  assert.equal(claimFilter(plan('hold', { 'crm.fields_write': 'hold' })), 'hold');
  assert.deepEqual(claimFilter(plan('hold', { 'idp.claims_push': 'shadow' })), { only: ['idp.claims_push'] });
  assert.equal(gateOf(plan('shadow', { 'crm.address_write': 'send' }), 'crm.address_write'), 'send');
  assert.equal(gateOf(plan('shadow', { 'crm.address_write': 'send' }), 'crm.fields_write'), 'shadow');
});

test('flags: a flow follows its connector unless set; reads and unknown kinds follow the connector', () => {
  const f = new FlagSnapshot(
    1,
    new Map([
      ['writeback.hubspot', 'shadow'],
      ['writeback.hubspot.address', 'on'],
      ['writeback.zendesk.profile', 'off'],
    ]),
  );
  assert.equal(f.writeback('hubspot', 'crm.address_write'), 'on');
  assert.equal(f.writeback('hubspot', 'crm.fields_write'), 'shadow');
  assert.equal(f.writeback('hubspot', 'crm.contact_fetch'), 'shadow');
  assert.equal(f.writeback('zendesk', 'profile.project'), 'off');
  assert.equal(f.writeback('zendesk'), 'on');
  assert.deepEqual([...f.flowModes('hubspot')], [['crm.address_write', 'on']]);
  assert.equal(f.value('writeback.stripe.address'), 'inherit');
});
