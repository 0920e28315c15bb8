import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { runAddressNormalize } from '../cli/address-normalize.ts';
import { compareAddresses, normalizeAddress, parseAddress } from './index.ts';

const key = (s: string) => normalizeAddress(s).key;

test('unit variants are one unit: Apt 4B = Apartment 4-B = #4B = APT 4 B = Unit 4B', () => {
  const base = key('123 N Main St Apt 4B, Springfield, IL 62704');
  for (const v of [
    '123 N Main St Apartment 4-B, Springfield, IL 62704',
    '123 N Main St #4B, Springfield, IL 62704',
    '123 N Main St APT 4 B, Springfield, IL 62704',
    '123 N Main St Unit 4B, Springfield, IL 62704',
    '123 N. Main St., # 4-B, Springfield, IL 62704',
  ]) {
    assert.equal(key(v), base, v);
  }
});

test('suffixes, directionals, states, ZIP+4 and ordinals are spelling, not place', () => {
  const base = key('123 N Main St Apt 4B, Springfield, IL 62704');
  assert.equal(key('123 North Main Street Apartment 4B, Springfield, Illinois 62704-1234'), base);
  assert.equal(key('350 Fifth Avenue, New York, NY 10118'), key('350 5th Ave, New York, NY 10118'));
  assert.equal(key('9 Pine Court, Denver, CO 80202'), key('9 PINE CT DENVER CO 80202'));
});

test('different delivery points have different keys', () => {
  const base = key('123 N Main St Apt 4B, Springfield, IL 62704');
  for (const v of [
    '123 S Main St Apt 4B, Springfield, IL 62704',
    '123 N Main St Apt 4C, Springfield, IL 62704',
    '123 N Main St, Springfield, IL 62704',
    '125 N Main St Apt 4B, Springfield, IL 62704',
    '123 N Main Ave Apt 4B, Springfield, IL 62704',
    '123 N Main St Apt 4B, Springfield, IL 62705',
  ]) {
    assert.notEqual(key(v), base, v);
  }
});

test('components follow the usaddress tags in Pub 28 standard forms', () => {
  assert.deepEqual(
    parseAddress('1234 West Martin Luther King Jr. Boulevard Suite 200, Los Angeles, California 90037-1234'),
    {
      address_number: '1234',
      street_name_pre_directional: 'W',
      street_name: 'MARTIN LUTHER KING JR',
      street_name_post_type: 'BLVD',
      occupancy_type: 'STE',
      occupancy_identifier: '200',
      place_name: 'LOS ANGELES',
      state_name: 'CA',
      zip_code: '90037',
      zip_plus4: '1234',
    },
  );
  assert.deepEqual(parseAddress('P.O. Box 123, Austin, TX 78701'), {
    usps_box_type: 'PO BOX',
    usps_box_id: '123',
    place_name: 'AUSTIN',
    state_name: 'TX',
    zip_code: '78701',
  });
  assert.equal(
    parseAddress('1 North Ave, Atlanta, GA 30303').street_name,
    'NORTH',
    'a directional that is the whole name stays the name',
  );
  assert.equal(parseAddress('500 Oak St NW, Washington, DC 20001').street_name_post_directional, 'NW');
  assert.equal(parseAddress('Soldotna, AK 99669').place_name, 'SOLDOTNA');
});

test('unparseable or foreign input does not throw and still keys on its tokens', () => {
  assert.equal(
    key('  Flat 3, 10 Downing Street, London SW1A 2AA, UK '),
    key('flat 3, 10 downing street, london sw1a 2aa, uk'),
  );
  assert.doesNotThrow(() => normalizeAddress(''));
});

test('compareAddresses names what differs and what is only spelled differently', () => {
  const same = compareAddresses(
    '123 N Main St Apt 4B, Springfield, IL 62704',
    '123 North Main Street #4-B, Springfield, IL 62704-1111',
  );
  assert.equal(same.same_delivery_point, true);
  assert.deepEqual(same.differing, []);
  assert.ok(same.format_only.includes('zip_plus4') && same.format_only.includes('occupancy_type'));
  const moved = compareAddresses(
    '123 N Main St Apt 4B, Springfield, IL 62704',
    '125 N Main St Apt 4C, Springfield, IL 62704',
  );
  assert.equal(moved.same_delivery_point, false);
  assert.deepEqual(moved.differing, ['address_number', 'occupancy_identifier']);
  const postal = compareAddresses(
    { line1: '1 Main St', line2: 'Apt 4', city: 'Springfield', region: 'IL', postal_code: '62701', country: 'US' },
    '1 Main Street Apartment 4, Springfield IL 62701',
  );
  assert.equal(postal.same_delivery_point, true);
});

test('hearth address normalize: one output line per input line, blank in, blank out', async () => {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (c) => (out += c));
  stdin.end(
    '123 N Main St Apt 4B, Springfield, IL 62704\n\n123 North Main Street Apartment 4-B, Springfield IL 62704\n',
  );
  assert.equal(await runAddressNormalize({ stdin, stdout, stderr: new PassThrough() }), 0);
  const raw = out.split('\n');
  assert.deepEqual([raw.length, raw[1], raw[3]], [4, '', ''], 'three input lines, three output lines');
  const lines = [JSON.parse(raw[0]!), JSON.parse(raw[2]!)];
  assert.equal(lines[0].raw, '123 N Main St Apt 4B, Springfield, IL 62704');
  assert.equal(lines[0].key, lines[1].key);
  assert.equal(lines[0].components.occupancy_identifier, '4B');
  assert.deepEqual([lines[0].valid, lines[0].reason], [true, null]);
});

test('PO boxes in every spelling are one delivery point; the box ends the street part', () => {
  const base = key('PO Box 12, Austin, TX 78701');
  for (const v of [
    'P.O. Box 12, Austin, TX 78701',
    'P O BOX #12 Austin TX 78701',
    'POB 12, Austin, TX 78701',
    'Post Office Box 12, Austin TX 78701-0012',
    'PO Bx 12, Austin, TX 78701',
  ]) {
    assert.equal(key(v), base, v);
  }
  assert.notEqual(key('PO Box 13, Austin, TX 78701'), base);
  assert.equal(parseAddress('P.O. Box 11418').usps_box_id, '11418', 'five digits after Box are the box, not a ZIP');
  assert.equal(parseAddress('PO Box 637 Powder Springs, GA 30127').place_name, 'POWDER SPRINGS');
  assert.equal(parseAddress('P O Box 98 St Joseph MI 49085-0098').place_name, 'ST JOSEPH');
  const both = parseAddress('110 West Edwards P.O. Box 5000, Springfield, IL 62704');
  assert.deepEqual([both.address_number, both.street_name, both.usps_box_id], ['110', 'EDWARDS', '5000']);
  assert.equal(
    parseAddress('123 Box Elder Rd, Ogden, UT 84401').street_name,
    'BOX ELDER',
    'a street named Box is not a box',
  );
});

test('rural route boxes keep their route: RR 2 Box 348 is not RR 3 Box 348', () => {
  assert.deepEqual(parseAddress('RR 2 Box 348, Canton, OH 44730'), {
    usps_box_group_type: 'RR',
    usps_box_group_id: '2',
    usps_box_type: 'BOX',
    usps_box_id: '348',
    place_name: 'CANTON',
    state_name: 'OH',
    zip_code: '44730',
  });
  assert.equal(key('RR2 BOX 348 Canton OH 44730'), key('Rural Route 2, Box 348, Canton, OH 44730'));
  assert.equal(key('RFD 2 Box 348, Canton, OH 44730'), key('RR 2 Box 348, Canton, OH 44730'));
  assert.notEqual(key('RR 3 Box 348, Canton, OH 44730'), key('RR 2 Box 348, Canton, OH 44730'));
  assert.equal(parseAddress('rr 4, box 164 a').usps_box_id, '164A');
  assert.equal(normalizeAddress('rr 4 box 283e, Rio, IL 61472').standardized, 'RR 4 BOX 283E, RIO, IL 61472');
  const diff = compareAddresses('RR 3 Box 348, Canton, OH 44730', 'RR 2 Box 348, Canton, OH 44730');
  assert.deepEqual(diff.differing, ['usps_box_group_id']);
});

test('non-US and unparseable input is flagged, not keyed as a street', () => {
  const uk = normalizeAddress('Flat 3, 10 Downing Street, London SW1A 2AA, UK');
  assert.equal(uk.valid, false);
  assert.match(uk.reason ?? '', /not a US address/);
  assert.match(uk.key, /^RAW\|/);
  const ca = normalizeAddress({ line1: '290 Bremner Blvd', city: 'Toronto', region: 'ON', postal_code: 'M5V 3L9' });
  assert.equal(ca.valid, false, ca.reason);
  const abroad = normalizeAddress({ line1: '1 Main St', city: 'Springfield', postal_code: '62704', country: 'DE' });
  assert.deepEqual([abroad.valid, abroad.reason], [false, 'not a US address (country DE)']);
  for (const junk of ['', '   ', '???', 'asdf qwerty']) {
    const n = normalizeAddress(junk);
    assert.equal(n.valid, false, junk);
    assert.ok(n.reason, junk);
  }
  const us = normalizeAddress('123 N Main St Apt 4B, Springfield, IL 62704');
  assert.deepEqual([us.valid, us.reason], [true, undefined]);
});

test('the tagger parses what the rule-based parser got wrong (issue #11 examples)', () => {
  const mill = parseAddress('1646 Red Leaf Drive Fort Mill, South Carolina');
  assert.deepEqual(
    [mill.street_name, mill.street_name_post_type, mill.place_name, mill.state_name],
    ['RED LEAF', 'DR', 'FORT MILL', 'SC'],
  );
  const route = parseAddress('T703 State Route 66');
  assert.deepEqual([route.address_number, route.street_name], ['T703', '66']);
  const sw = parseAddress('700 Oak Avenue Southwest, Rochester, MN 55902');
  assert.deepEqual([sw.street_name_post_directional, sw.place_name], ['SW', 'ROCHESTER']);
});

test('normaliser repairs of tagger slips (issue #11 error classes, addresses not in the test files)', () => {
  const box = parseAddress('PO Box 4471 Rancho Palos Verdes CA 90275');
  assert.deepEqual([box.usps_box_id, box.place_name], ['4471', 'RANCHO PALOS VERDES'], 'a box number is one token');
  assert.equal(parseAddress('RR 517 Box, Milton, PA 17847').usps_box_id, '517', 'the number before a trailing Box');
  assert.equal(parseAddress('15 E Lincoln Ave 604112233').street_name_post_type, 'AVE', 'a street type is no state');
  const firm = parseAddress('ACME LOGISTICS MN MINNEAPOLIS OFFICE 400 N FRANKLIN AVE STE 12 MINNEAPOLIS MN 55401');
  assert.deepEqual([firm.place_name, firm.state_name], ['MINNEAPOLIS', 'MN'], 'a city above the street is a name');
  const rear = normalizeAddress('88 Elm Street Rear, Dayton, OH 45402');
  assert.equal(rear.components.occupancy_identifier, 'REAR', 'a unit that takes no number is the unit');
  assert.notEqual(rear.key, key('88 Elm Street, Dayton, OH 45402'));
  assert.equal(key('88 Elm St Front, Dayton, OH 45402'), key('88 Elm Street Frnt, Dayton, OH 45402'));
  assert.match(rear.standardized, /^88 ELM ST REAR,/);
  assert.equal(parseAddress('5 Park Pl, 3rd Floor Board Room, Albany, NY 12207').occupancy_type, 'FLOOR BOARD ROOM');
  const inlet = parseAddress('PO Box 77 Port Saint Lucie FL 34985');
  assert.deepEqual([inlet.usps_box_id, inlet.place_name], ['77', 'PORT SAINT LUCIE'], 'no street without a number');
  const state = parseAddress('18 ELM ST NORTH KINGSTOWN RHODE ISLAND 02852');
  assert.deepEqual([state.place_name, state.state_name], ['NORTH KINGSTOWN', 'RI'], 'a state name ends the city');
  assert.equal(parseAddress('400 Pine St, Washington').state_name, undefined, 'a city named after a state stays');
  const base = parseAddress('410 Kessler Drive, Whiteman A F B, MO 65305');
  assert.equal(base.place_name, 'WHITEMAN A F B', 'a part that ends in the city is the city');
  const two = parseAddress('12 Oak Dr Oak Ridge Townhomes, Unit C4 Oak Ridge, TN 37830');
  assert.equal(two.place_name, 'OAK RIDGE', 'the city is the last run of words before the state');
  const route = parseAddress('7101 Route # B, Dover, VT 05356');
  assert.deepEqual([route.street_name_pre_type, route.street_name], ['RTE', 'B'], 'Route # B is a road');
  assert.equal(parseAddress('Hwy 61 And West Pine, Festus, MO 63028').street_name?.includes('AND'), false);
  const south = normalizeAddress('2612 south st Apt 14b, springfield, nj 07081');
  assert.deepEqual([south.valid, south.components.street_name], [true, 'SOUTH'], 'a lone directional is the name');
  const park = parseAddress('4526 park mer place, burlington, tx 78721');
  assert.deepEqual([park.street_name, park.street_name_post_type], ['PARK MER', 'PL'], 'a street ends in its type');
  assert.equal(parseAddress('12 Oak St, Austin, TX 78701&#8211;1234').zip_plus4, '1234', 'an HTML-escaped dash');
  assert.equal(parseAddress('12 Oak St, Austin, TX 78701\u20141234').zip_plus4, '1234', 'a Unicode dash');
});

test('a repeated address gives the same result, and what a caller edits does not leak into the next', () => {
  const a = { line1: '9 Elm St', city: 'Boston', region: 'MA', postal_code: '02108' };
  const first = normalizeAddress(a);
  first.components.street_name = 'CHANGED';
  first.key = 'changed';
  const again = normalizeAddress({ ...a });
  assert.equal(again.components.street_name, 'ELM');
  assert.equal(again.key, normalizeAddress('9 Elm St, Boston, MA 02108').key);
  // The country changes the result of the same text: it is part of what is remembered.
  const foreign = normalizeAddress({ ...a, country: 'CA' });
  assert.equal(foreign.valid, false);
  assert.equal(normalizeAddress(a).valid, true);
});
