import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHubSpotSim } from '../../../sim/hubspot.ts';
import { createLogger } from '../../log.ts';
import { diagnoseConfig, type DoctorContext } from '../common/doctor.ts';
import { hubspotConnector } from './descriptor.ts';
import { hubspotDoctor, labelRequests } from './doctor.ts';

const deps = { logger: createLogger('silent') };
const HEADS = ['Head of household', 'Primary contact'];
const MEMBERS = ['Household member'];
const ALL = ['Head of household', 'Household member', 'Primary contact'];
const ctx = (mode: 'company' | 'contact_labels', fix: boolean): DoctorContext => ({
  opt_in_property: 'points_aggregation_opt_in',
  household_source: 'hubspot',
  households: { hubspot_mode: mode, head_labels: HEADS, member_labels: MEMBERS },
  fix,
});
const labelsOf = (checks: { check: string }[]) => checks.find((c) => c.check === 'labels') as any;

test('doctor --fix creates the missing contact-to-contact household labels as one paired label', async () => {
  const sim = await startHubSpotSim({ missing_labels: ALL });
  try {
    const cfg = { base_url: sim.url, access_token: sim.token };
    const before = labelsOf(await hubspotDoctor(cfg, ctx('contact_labels', false), deps));
    assert.equal(before.status, 'fail');
    assert.match(before.detail, /missing association labels on contacts\/contacts: Head of household, Primary/);
    assert.match(before.fix, /--fix/);
    assert.deepEqual(sim.households.labels('contacts', 'contacts'), [], 'a check alone creates nothing');

    const fixed = labelsOf(await hubspotDoctor(cfg, ctx('contact_labels', true), deps));
    assert.equal(fixed.status, 'ok', fixed.detail);
    assert.match(fixed.detail, /created association labels .*Head of household \/ Household member, Primary contact/);
    const defs = sim.households.labels('contacts', 'contacts');
    assert.deepEqual(defs.map((d) => d.label).sort(), ALL);
    assert.ok(defs.every((d) => /^hearth_[a-z0-9_]+$/.test(d.name)));

    const after = labelsOf(await hubspotDoctor(cfg, ctx('contact_labels', true), deps));
    assert.equal(after.status, 'ok');
    assert.doesNotMatch(after.detail, /created/, 'a second run creates nothing');
    assert.equal(sim.households.labels('contacts', 'contacts').length, 3);
  } finally {
    await sim.close();
  }
});

test('company mode: only head labels, on contact -> company (both directions); one present is a warning', async () => {
  const sim = await startHubSpotSim({ missing_labels: ['Primary contact'] });
  try {
    const cfg = { base_url: sim.url, access_token: sim.token };
    const before = labelsOf(await hubspotDoctor(cfg, ctx('company', false), deps));
    assert.equal(before.status, 'warn', 'heads are still found through "Head of household"');
    assert.match(before.detail, /contacts\/companies: Primary contact$/);
    const fixed = labelsOf(await hubspotDoctor(cfg, ctx('company', true), deps));
    assert.match(fixed.detail, /created association labels on contacts\/companies: Primary contact \(--fix\)/);
    for (const [from, to] of [
      ['contacts', 'companies'],
      ['companies', 'contacts'],
    ] as const)
      assert.ok(sim.households.labels(from, to).some((d) => d.label === 'Primary contact'));
    assert.ok(!sim.households.labels('contacts', 'contacts').some((d) => d.name.startsWith('hearth_')));
  } finally {
    await sim.close();
  }
});

test('the config households section reaches the check (diagnoseConfig, as hearth doctor --fix runs it)', async () => {
  const sim = await startHubSpotSim({ missing_labels: ['Household member'] });
  try {
    const config = {
      descriptors: [hubspotConnector],
      connectors: { hubspot: hubspotConnector.config.parse({ base_url: sim.url, access_token: sim.token }) },
      households: {
        source: 'hubspot',
        opt_in_property: 'points_aggregation_opt_in',
        hubspot_mode: 'contact_labels' as const,
        head_labels: ['Head of household'],
        member_labels: ['Household member'],
      },
    };
    const fixed = labelsOf(await diagnoseConfig(config, deps, true));
    assert.match(fixed.detail, /created association labels on contacts\/contacts: Household member \(--fix\)/);
    assert.ok(sim.households.labels('contacts', 'contacts').some((d) => d.label === 'Household member'));
  } finally {
    await sim.close();
  }
});

test('no labels check unless HubSpot is the household source', async () => {
  const sim = await startHubSpotSim({ missing_labels: ALL });
  try {
    const cfg = { base_url: sim.url, access_token: sim.token };
    const checks = await hubspotDoctor(cfg, { ...ctx('company', true), household_source: 'salesforce' }, deps);
    assert.equal(labelsOf(checks), undefined);
    assert.deepEqual(sim.households.labels('contacts', 'companies'), []);
  } finally {
    await sim.close();
  }
});

test('a refused label creation is a failed check naming the label and the fix', async () => {
  const sim = await startHubSpotSim({ missing_labels: ALL });
  try {
    const cfg = { base_url: sim.url, access_token: sim.token };
    const refusing = {
      ...deps,
      fetch: async (url: string, init: any) =>
        init?.method === 'POST'
          ? new Response('{"status":"error","message":"missing scopes"}', { status: 403 })
          : fetch(url, init),
    };
    const r = labelsOf(await hubspotDoctor(cfg, ctx('contact_labels', true), refusing as any));
    assert.equal(r.status, 'fail');
    assert.match(r.detail, /could not create label Head of household \/ Household member \(HTTP 403\)/);
    assert.match(r.fix, /scope/);
  } finally {
    await sim.close();
  }
});

test('label requests: unequal lists leave the extra labels unpaired', () => {
  const h = { hubspot_mode: 'contact_labels' as const, head_labels: ['A', 'B'], member_labels: ['C'] };
  assert.deepEqual(
    labelRequests(h, () => false),
    [
      { label: 'A', name: 'hearth_a', inverseLabel: 'C' },
      { label: 'B', name: 'hearth_b' },
    ],
  );
  assert.deepEqual(
    labelRequests(h, (l) => l === 'A'),
    [{ label: 'B', name: 'hearth_b', inverseLabel: 'C' }],
  );
});
