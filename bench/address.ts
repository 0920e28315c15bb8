import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseAddress } from '../src/address/index.ts';
import { STATES, SUFFIXES, UNIT_DESIGNATORS } from '../src/address/pub28-tables.ts';
import { round } from './db-fixtures.ts';

/**
 * Parse accuracy on the usaddress labelled test files, Hearth's parser beside the npm packages
 * parse-address and addresser, all scored the same way in the same run:
 * - field accuracy: of all labelled fields of the kinds we score, the share each parser puts in
 *   the right component with the right value (after the same normalisation of both sides:
 *   upper case, no punctuation, Pub 28 standard forms);
 * - exact: the share of addresses with every scored field right.
 * The training split (`training/`) was used to develop the parser; these test files were not.
 */
const DATA = new URL('../test-support/data/usaddress/measure_performance/test_data/', import.meta.url);
const FILES = ['labeled.xml', 'us50_test_tagged.xml'];

type Field = 'number' | 'street' | 'unit_type' | 'unit_id' | 'box_id' | 'city' | 'state' | 'zip';
type Parsed = Partial<Record<Field, string>>;

/**
 * usaddress tag -> scored field. The street is scored whole (directionals, pre-type, name,
 * suffix: "N US HWY 50", "MENDENHALL MALL RD") because the two files label it differently:
 * us50 tags directionals and suffixes as part of StreetName, labeled.xml separately.
 */
const TAGS: Record<string, Field> = {
  AddressNumber: 'number',
  StreetNamePreDirectional: 'street',
  StreetNamePreType: 'street',
  StreetName: 'street',
  StreetNamePostType: 'street',
  StreetNamePostDirectional: 'street',
  OccupancyType: 'unit_type',
  OccupancyIdentifier: 'unit_id',
  USPSBoxID: 'box_id',
  PlaceName: 'city',
  StateName: 'state',
  ZipCode: 'zip',
};

const DIRS: Record<string, string> = {
  NORTH: 'N',
  SOUTH: 'S',
  EAST: 'E',
  WEST: 'W',
  NORTHEAST: 'NE',
  NORTHWEST: 'NW',
  SOUTHEAST: 'SE',
  SOUTHWEST: 'SW',
};

export function loadLabelled(file: URL): { text: string; truth: Parsed }[] {
  const xml = readFileSync(file, 'utf8');
  return [...xml.matchAll(/<AddressString>([\s\S]*?)<\/AddressString>/g)].map((m) => {
    const parts = [...m[1]!.matchAll(/<(\w+)>([\s\S]*?)<\/\1>/g)];
    const truth: Parsed = {};
    for (const [, tag, value] of parts) {
      const field = TAGS[tag!];
      if (field) truth[field] = truth[field] ? `${truth[field]} ${value}` : value!;
    }
    const text = m[1]!
      .replace(/<[^>]+>/g, '')
      .replace(/&amp;/g, '&')
      .replace(/\s+/g, ' ')
      .trim();
    return { text, truth };
  });
}

/** The same normalisation for truth and every parser, so only parsing is scored. */
export function norm(field: Field, v: string | undefined): string {
  if (!v) return '';
  const s = v.toUpperCase().replace(/[.,#]/g, ' ').replace(/\s+/g, ' ').trim();
  switch (field) {
    case 'street':
      return s
        .split(' ')
        .map((w) => DIRS[w] ?? SUFFIXES[w] ?? w)
        .join(' ');
    case 'unit_type':
      return UNIT_DESIGNATORS[s] ?? s;
    case 'unit_id':
    case 'box_id':
      return s.replace(/[\s-]/g, '');
    case 'state':
      return STATES[s] ?? s;
    case 'zip':
      return s.slice(0, 5);
    default:
      return s;
  }
}

export function hearth(text: string): Parsed {
  const c = parseAddress(text);
  return {
    number: c.address_number,
    street: [
      c.street_name_pre_directional,
      c.street_name_pre_type,
      c.street_name,
      c.street_name_post_type,
      c.street_name_post_directional,
    ]
      .filter(Boolean)
      .join(' '),
    unit_type: c.occupancy_type === '#' ? undefined : c.occupancy_type,
    unit_id: c.occupancy_identifier,
    box_id: c.usps_box_id,
    city: c.place_name,
    state: c.state_name,
    zip: c.zip_code,
  };
}

function loaders() {
  const require = createRequire(import.meta.url);
  const pa = require('parse-address') as { parseLocation(s: string): Record<string, string> | null };
  const ad = require('addresser') as { parseAddress(s: string): Record<string, string> };
  const parseAddressPkg = (text: string): Parsed => {
    const r = pa.parseLocation(text) ?? {};
    const box = /box/i.test(r.sec_unit_type ?? '');
    return {
      number: r.number,
      street: [r.prefix, r.street, r.type, r.suffix].filter(Boolean).join(' '),
      unit_type: box ? undefined : r.sec_unit_type,
      unit_id: box ? undefined : r.sec_unit_num,
      box_id: box ? r.sec_unit_num : undefined,
      city: r.city,
      state: r.state,
      zip: r.zip,
    };
  };
  const addresser = (text: string): Parsed => {
    try {
      const r = ad.parseAddress(text);
      const [unitType, ...unitId] = (r.addressLine2 ?? '').split(/\s+/);
      return {
        number: r.streetNumber,
        street: [r.streetName, r.streetSuffix].filter(Boolean).join(' '),
        unit_type: unitType || undefined,
        unit_id: unitId.join('') || undefined,
        city: r.placeName,
        state: r.stateAbbreviation,
        zip: r.zipCode,
      };
    } catch {
      return {};
    }
  };
  return { hearth, 'parse-address': parseAddressPkg, addresser };
}

export function score(rows: { text: string; truth: Parsed }[], parse: (t: string) => Parsed) {
  let fields = 0;
  let right = 0;
  let exact = 0;
  const t0 = performance.now();
  const outputs = rows.map((r) => parse(r.text));
  const seconds = (performance.now() - t0) / 1000;
  rows.forEach((r, i) => {
    let all = true;
    for (const [f, v] of Object.entries(r.truth) as [Field, string][]) {
      fields++;
      if (norm(f, v) === norm(f, outputs[i]![f])) right++;
      else all = false;
    }
    if (all) exact++;
  });
  return {
    field_accuracy: round((100 * right) / fields, 1),
    exact_address_accuracy: round((100 * exact) / rows.length, 1),
    fields,
    addresses: rows.length,
    addresses_per_second: round(rows.length / seconds, 0),
  };
}

export async function runAddressBench(): Promise<Record<string, unknown>> {
  const parsers = loaders();
  const out: Record<string, unknown> = {
    metric:
      'percent of labelled fields parsed into the right component (same normalisation for all parsers); ' +
      'exact = every field right',
  };
  for (const file of FILES) {
    const rows = loadLabelled(new URL(file, DATA));
    out[file] = Object.fromEntries(Object.entries(parsers).map(([name, p]) => [name, score(rows, p)]));
  }
  return out;
}

if (import.meta.main) console.log(JSON.stringify(await runAddressBench(), null, 2));
