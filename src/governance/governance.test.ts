import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../config/loader.ts';
import { DEFAULT_FLAGS, flagProblem, FlagSnapshot, knownFlags } from './flags.ts';
import { minimiseJob, minimiseJobs } from './minimise.ts';
import { checkValue, rateViolation } from './quality.ts';
import { governanceSchema } from './quality-schema.ts';
import { planRevert, selectorProblem } from './revert.ts';
import { fieldsOfJob, shadowReport, toRelease } from './shadow.ts';

const change = (
  id: string,
  customer: string,
  field: string,
  from: string | null,
  to: string | null,
  at: number,
  src = 'hubspot',
) => ({
  id,
  customer_id: customer,
  field,
  old_value: from,
  new_value: to,
  source_system: src,
  actor: `connector:${src}`,
  changed_at: at,
});

test('a revert restores the value before the first selected change and hands ownership back', () => {
  const history = [
    change('a.00', 'c1', 'phone', null, '+15550000001', 1, 'stripe'),
    change('b.00', 'c1', 'phone', '+15550000001', '+15559999999', 2),
    change('c.00', 'c1', 'phone', '+15559999999', '+15558888888', 3),
  ];
  const plan = planRevert(history.slice(1), history, new Map([['c1', { phone: '+15558888888' }]]));
  assert.deepEqual(plan.conflicts, []);
  assert.deepEqual(plan.steps, [
    {
      customer_id: 'c1',
      field: 'phone',
      from: '+15558888888',
      to: '+15550000001',
      restore_source: 'stripe',
      reverted: ['b.00', 'c.00'],
    },
  ]);
});

test('a newer change not selected is a conflict; an address conflicts as a whole', () => {
  const history = [
    change('a.00', 'c1', 'address_line1', '1 Old St', '9 Bad St', 1),
    change('a.01', 'c1', 'city', 'Springfield', 'Nowhere', 1),
    change('b.00', 'c1', 'city', 'Nowhere', 'Chicago', 2, 'salesforce'),
    change('a2.00', 'c2', 'phone', '+1', '+2', 1),
  ];
  const current = new Map<string, Record<string, string | null>>([
    ['c1', { address_line1: '9 Bad St', city: 'Chicago' }],
    ['c2', { phone: '+2' }],
  ]);
  const plan = planRevert([history[0]!, history[1]!, history[3]!], history, current);
  assert.equal(plan.conflicts.length, 1);
  assert.equal(plan.conflicts[0]!.field, 'address');
  assert.equal(plan.conflicts[0]!.newer.source_system, 'salesforce');
  assert.deepEqual(
    plan.steps.map((s) => [s.customer_id, s.field, s.to]),
    [['c2', 'phone', '+1']],
  );
});

test('fields a revert cannot restore are listed, and a value already back is no step', () => {
  const history = [change('a.00', 'c1', 'points', '1', '2', 1), change('b.00', 'c1', 'phone', '+1', '+2', 1)];
  const plan = planRevert(history, history, new Map([['c1', { phone: '+1' }]]));
  assert.deepEqual(plan.unsupported, [{ id: 'a.00', field: 'points' }]);
  assert.deepEqual(plan.steps, []);
});

test('selectors: exactly one kind, a window needs since', () => {
  assert.equal(selectorProblem({ change: 'x' }), null);
  assert.match(selectorProblem({ change: 'x', event: 'y' })!, /exactly one/);
  assert.match(selectorProblem({ customers: ['c'] })!, /since/);
  assert.match(selectorProblem({ source: 's', since: 5, until: 1 })!, /before since/);
});

test('flags: known names per connector, allowed values, defaults', () => {
  assert.ok(knownFlags(['hubspot']).includes('writeback.hubspot'));
  assert.equal(flagProblem('writeback.hubspot', 'shadow', ['hubspot']), null);
  assert.match(flagProblem('writeback.hubspot', 'maybe', ['hubspot'])!, /on \| off \| shadow/);
  assert.match(flagProblem('writeback.nosuch', 'on', ['hubspot'])!, /unknown flag/);
  assert.equal(flagProblem('writeback.hubspot.address', 'shadow', ['hubspot']), null);
  assert.match(flagProblem('writeback.hubspot.address', 'maybe', ['hubspot'])!, /inherit \| on \| off \| shadow/);
  assert.match(flagProblem('writeback.hubspot.nosuch', 'on', ['hubspot'])!, /unknown flag/);
  assert.match(flagProblem('breaker.hubspot.address', 'open', ['hubspot'])!, /unknown flag/);
  assert.ok(knownFlags(['hubspot']).includes('writeback.hubspot.claims'));
  assert.equal(DEFAULT_FLAGS.writeback('hubspot'), 'on');
  assert.equal(DEFAULT_FLAGS.breakerOpen('hubspot'), false);
  const set = new FlagSnapshot(3, new Map([['identity.auto_link', 'off']]));
  assert.equal(set.on('identity.auto_link'), false);
  assert.equal(set.on('households.pooling'), true);
});

test('shadow: fields of a job, the report per system, and what leaving shadow sends', () => {
  assert.deepEqual(fieldsOfJob('crm.address_write', {}), ['address']);
  assert.deepEqual(fieldsOfJob('crm.fields_write', { fields: { phone: '+1' } }), ['phone']);
  assert.deepEqual(
    fieldsOfJob('webhook.deliver', { event: { data: { changed_fields: ['city', 'address_line1', 'phone'] } } }),
    ['address', 'phone'],
  );
  const report = shadowReport([
    { target: 'hubspot', customer_id: 'c1', job_key: 'k1', fields: ['address'] },
    { target: 'hubspot', customer_id: 'c2', job_key: 'k2', fields: ['address'] },
    { target: 'hubspot', customer_id: 'c2', job_key: 'k3', fields: ['phone'] },
  ]);
  assert.deepEqual(report[0]!.lines, ['2 contacts would get a new address', '1 contact would change phone']);
  const send = toRelease(
    [
      { id: 'j1', job_key: 'k1', kind: 'x', payload: 'old' },
      { id: 'j2', job_key: 'k1', kind: 'x', payload: 'new' },
      { id: 'j3', job_key: 'k2', kind: 'x', payload: 'same' },
    ],
    new Map([['x\u0000k2', 'same']]),
  );
  assert.deepEqual([...send], ['j2']);
});

test('quality: value rules and the change-rate rule', () => {
  const { quality } = governanceSchema.parse({
    quality: {
      rules: [
        { name: 'us-phone', field: 'phone', check: 'format', pattern: '\\+1\\d{10}' },
        { name: 'tier', field: 'given_name', check: 'allowed', values: ['Pat'] },
        { name: 'addr', field: 'address', check: 'plausible' },
        { name: 'burst', field: 'address', check: 'max_change_rate', max_rate: 0.05, min_changes: 3 },
      ],
    },
  });
  assert.deepEqual(checkValue(quality.rules, 'phone', '+15551234567'), []);
  assert.equal(checkValue(quality.rules, 'phone', 'call me')[0]!.rule, 'us-phone');
  assert.equal(checkValue(quality.rules, 'phone', undefined).length, 0);
  assert.equal(checkValue(quality.rules, 'given_name', 'Sam')[0]!.rule, 'tier');
  const bad = checkValue(quality.rules, 'address', {
    line1: '12345',
    city: 'X',
    region: 'IL',
    postal_code: '1',
    country: 'US',
  });
  assert.equal(bad[0]?.rule, 'addr');
  const burst = quality.rules[3]!;
  assert.equal(rateViolation(burst, 2, 10), null, 'under min_changes');
  assert.equal(rateViolation(burst, 5, 200), null, '2.5% is under 5%');
  assert.match(rateViolation(burst, 11, 200)!.reason, /11 of 200 customers \(5\.5%\)/);
  assert.throws(() => governanceSchema.parse({ quality: { rules: [{ name: 'x', field: 'phone', check: 'format' }] } }));
});

test('minimisation: fields outside the allow-list are blanked, a write of only those is not queued', () => {
  const fields = { target: 'hubspot', kind: 'crm.fields_write', payload: { fields: { phone: '+1', given_name: 'A' } } };
  assert.deepEqual(minimiseJob(fields, ['phone'])!.payload, { fields: { phone: '+1' } });
  assert.equal(minimiseJob(fields, ['address']), null);
  assert.equal(minimiseJob({ target: 'hubspot', kind: 'crm.address_write', payload: {} }, ['phone']), null);
  const hook = {
    target: 'webhook:loyalty',
    kind: 'webhook.deliver',
    payload: {
      event: { data: { customer: { id: 'c', email: 'a@x', phone: '+1' }, previous_address: { line1: 'x' } } },
    },
  };
  const [out] = minimiseJobs([hook], { webhook: ['phone'] });
  assert.deepEqual(out!.payload, {
    event: { data: { customer: { id: 'c', email: null, phone: '+1' }, previous_address: null } },
  });
  assert.equal(minimiseJobs([hook], {})[0], hook, 'no allow-list: unchanged');
});

test('an allow-list for a connector that is not configured is a config error naming it', () => {
  assert.throws(
    () => parseConfig({ governance: { minimisation: { hubspot: ['phone'] } } }),
    /config governance\.minimisation\.hubspot: connector "hubspot" is not configured/,
  );
});
