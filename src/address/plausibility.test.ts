import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL_RULES_ON, checkPlausibility } from './plausibility.ts';

const base = {
  line1: '12 Oak Avenue',
  line2: 'Apt 4',
  city: 'Springfield',
  region: 'IL',
  postal_code: '62701',
  country: 'US',
};

test('real addresses pass: US, Canadian, full state names, ZIP+4, other countries unjudged', () => {
  for (const a of [
    base,
    { ...base, region: 'Illinois', postal_code: '62701-1234' },
    { ...base, line1: 'PO Box 12', line2: null },
    { line1: '1 Rue de Rivoli', city: 'Paris', region: '??', postal_code: '75001', country: 'FR' },
    { line1: '200 Bay St', city: 'Toronto', region: 'ON', postal_code: 'M5J 2J2', country: 'CA' },
    { line1: 'Straße 5', city: 'Köln', region: null, postal_code: null, country: 'DE' },
  ])
    assert.deepEqual(checkPlausibility(a), { ok: true }, JSON.stringify(a));
});

test('implausible checkout addresses fail with the rule, the field and a reason', () => {
  const cases: [Partial<typeof base>, string, string][] = [
    [{ line1: '🏠🏠🏠' }, 'street_letters', 'line1'],
    [{ line1: '12345' }, 'street_letters', 'line1'],
    [{ line1: '12 Oak Ave 🎉' }, 'emoji', 'line1'],
    [{ city: '<script>alert(1)</script>' }, 'markup', 'city'],
    [{ line2: '<b>Apt</b> 4' }, 'markup', 'line2'],
    [{ region: '??' }, 'region_format', 'region'],
    [{ postal_code: '6270' }, 'region_format', 'postal_code'],
  ];
  for (const [change, rule, field] of cases) {
    const r = checkPlausibility({ ...base, ...change });
    assert.equal(r.ok, false, JSON.stringify(change));
    assert.ok(!r.ok && r.rule === rule && r.field === field && r.reason.length > 0, JSON.stringify(r));
  }
});

test('a rule turned off is not applied', () => {
  assert.deepEqual(checkPlausibility({ ...base, region: '??' }, { ...ALL_RULES_ON, region_format: false }), {
    ok: true,
  });
  assert.equal(checkPlausibility({ ...base, line1: '🏠' }, { ...ALL_RULES_ON, street_letters: false }).ok, false);
  assert.deepEqual(
    checkPlausibility({ ...base, line1: '🏠' }, { ...ALL_RULES_ON, street_letters: false, emoji: false }),
    { ok: true },
  );
});
