import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Generated HubSpot contacts and Shopify orders exports that disagree in known ways, for the
 * end-to-end test and the bench. Customer i's scenario is fixed by `i % 20`:
 *  0–1 stale address (latest order ships elsewhere; an older order matches the CRM),
 *  2–4 format-only respelling (`St`/`Street`, `Apartment 4-B`/`Apt 4B`/`#4B`, ZIP+4, case),
 *      with an older order at another address so only the most recent order may decide,
 *  5   phone mismatch, 6 phone formatted differently, 7–16 identical, 17–19 no orders.
 * Every `duplicateEvery`-th contact appears twice (second copy: new Record ID, email re-cased).
 * `missing` customers order but are not in the CRM.
 */
export interface SyntheticOptions {
  contacts: number;
  /** Stop after about this many order rows (each order has 1–3 line items). */
  orderRows: number;
  asOf: number;
  duplicateEvery?: number;
  missing?: number;
  /** BOM, shuffled and extra columns, quoted fields in the CRM export. */
  messy?: boolean;
  /** Write older orders first (Shopify writes newest first). */
  oldestFirst?: boolean;
}

export interface SyntheticTruth {
  stale: Set<string>;
  formatOnly: Set<string>;
  phoneMismatch: Set<string>;
  phoneFormatOnly: Set<string>;
  missingInCrm: Set<string>;
  duplicates: Set<string>;
}

export interface SyntheticExports {
  crmFile: string;
  ordersFile: string;
  crmRows: number;
  orderRows: number;
  truth: SyntheticTruth;
}

export const SHOPIFY_ORDERS_HEADER = [
  'Name',
  'Email',
  'Financial Status',
  'Paid at',
  'Fulfillment Status',
  'Fulfilled at',
  'Accepts Marketing',
  'Currency',
  'Subtotal',
  'Shipping',
  'Taxes',
  'Total',
  'Discount Code',
  'Discount Amount',
  'Shipping Method',
  'Created at',
  'Lineitem quantity',
  'Lineitem name',
  'Lineitem price',
  'Lineitem compare at price',
  'Lineitem sku',
  'Lineitem requires shipping',
  'Lineitem taxable',
  'Lineitem fulfillment status',
  'Billing Name',
  'Billing Street',
  'Billing Address1',
  'Billing Address2',
  'Billing Company',
  'Billing City',
  'Billing Zip',
  'Billing Province',
  'Billing Country',
  'Billing Phone',
  'Shipping Name',
  'Shipping Street',
  'Shipping Address1',
  'Shipping Address2',
  'Shipping Company',
  'Shipping City',
  'Shipping Zip',
  'Shipping Province',
  'Shipping Country',
  'Shipping Phone',
  'Notes',
  'Note Attributes',
  'Cancelled at',
  'Payment Method',
  'Payment Reference',
  'Refunded Amount',
  'Vendor',
  'Outstanding Balance',
  'Employee',
  'Location',
  'Device ID',
  'Id',
  'Tags',
  'Risk Level',
  'Source',
  'Lineitem discount',
  'Tax 1 Name',
  'Tax 1 Value',
  'Tax 2 Name',
  'Tax 2 Value',
  'Tax 3 Name',
  'Tax 3 Value',
  'Tax 4 Name',
  'Tax 4 Value',
  'Tax 5 Name',
  'Tax 5 Value',
  'Phone',
  'Receipt Number',
  'Duties',
  'Billing Province Name',
  'Shipping Province Name',
  'Payment ID',
  'Payment Terms Name',
  'Next Payment Due At',
  'Payment References',
];

const HUBSPOT_HEADER = [
  'Record ID',
  'First Name',
  'Last Name',
  'Email',
  'Phone Number',
  'Street Address',
  'City',
  'State/Region',
  'Postal Code',
  'Country/Region',
];
const HUBSPOT_EXTRA = ['Lifecycle Stage', 'Notes'];

const STREETS = [
  'Main',
  'Oak',
  'Maple',
  'Cedar',
  'Elm',
  'Washington',
  'Lake',
  'Hill',
  'Park',
  'Pine',
  'Sunset',
  'Lincoln',
  'Jackson',
  'Franklin',
  'Highland',
  'Walnut',
  'Chestnut',
  'Spruce',
  'Willow',
  'Madison',
];
const SUFFIXES: [string, string][] = [
  ['Street', 'St'],
  ['Avenue', 'Ave'],
  ['Road', 'Rd'],
  ['Drive', 'Dr'],
  ['Lane', 'Ln'],
  ['Boulevard', 'Blvd'],
  ['Court', 'Ct'],
  ['Place', 'Pl'],
];
const PLACES: [string, string, string, string][] = [
  ['Springfield', 'IL', '62704', '217'],
  ['Portland', 'OR', '97201', '503'],
  ['Austin', 'TX', '78701', '512'],
  ['Denver', 'CO', '80202', '303'],
  ['Madison', 'WI', '53703', '608'],
  ['Columbus', 'OH', '43215', '614'],
  ['Raleigh', 'NC', '27601', '919'],
  ['Boise', 'ID', '83702', '208'],
  ['Albany', 'NY', '12207', '518'],
  ['Tucson', 'AZ', '85701', '520'],
];
const FIRST = ['Ana', 'Ben', 'Chloe', 'Dev', 'Eva', 'Finn', 'Gia', 'Hugo', 'Iris', 'Jon'];
const LAST = ['Smith', "O'Neil", 'Garcia', 'Nguyen', 'Brown', 'Okafor', 'Rossi', 'Kim', 'Silva', 'Novak'];

interface Home {
  number: number;
  street: string;
  suffix: [string, string];
  unit: string;
  place: [string, string, string, string];
}

/** Customer i's CRM address: spread over streets, places and units so most strings are distinct. */
function homeOf(i: number): Home {
  return {
    number: 100 + ((i * 7919) % 9800),
    street: STREETS[i % STREETS.length]!,
    suffix: SUFFIXES[(i >> 3) % SUFFIXES.length]!,
    unit: i % 3 === 0 ? `${1 + (i % 9)}${'ABCD'[i % 4]}` : '',
    place: PLACES[(i >> 5) % PLACES.length]!,
  };
}

function phoneOf(i: number, home: Home): string {
  return `(${home.place[3]}) 555-${String(1000 + (i % 9000)).padStart(4, '0')}`;
}

interface ShipTo {
  address1: string;
  address2: string;
  city: string;
  province: string;
  zip: string;
  phone: string;
}

/** The latest order's shipping address for each scenario (see the header comment). */
function latestShipTo(i: number, home: Home, scenario: number): ShipTo {
  const [city, province, zip] = home.place;
  const phone = phoneOf(i, home);
  if (scenario <= 1) return movedTo(i, home, phone);
  if (scenario <= 4) return respelled(i, home, phone);
  const base = {
    address1: `${home.number} ${home.street} ${home.suffix[0]}`,
    address2: home.unit ? `Apt ${home.unit}` : '',
    city,
    province,
    zip,
    phone,
  };
  if (scenario === 5)
    return { ...base, phone: `(${home.place[3]}) 555-${String(1000 + ((i + 4321) % 9000)).padStart(4, '0')}` };
  if (scenario === 6) return { ...base, phone: `+1${home.place[3]}555${String(1000 + (i % 9000)).padStart(4, '0')}` };
  return base;
}

function movedTo(i: number, home: Home, phone: string): ShipTo {
  const [city, province, zip] = home.place;
  switch (Math.floor(i / 20) % 4) {
    case 0:
      return {
        address1: `${home.number + 2} ${home.street} ${home.suffix[0]}`,
        address2: home.unit ? `Apt ${home.unit}` : '',
        city,
        province,
        zip,
        phone,
      };
    case 1:
      return {
        address1: `${home.number} ${STREETS[(i + 3) % STREETS.length]} ${home.suffix[0]}`,
        address2: '',
        city,
        province,
        zip,
        phone,
      };
    case 2: {
      const p = PLACES[((i >> 5) + 1) % PLACES.length]!;
      return {
        address1: `${home.number} ${home.street} ${home.suffix[0]}`,
        address2: home.unit ? `Apt ${home.unit}` : '',
        city: p[0],
        province: p[1],
        zip: p[2],
        phone,
      };
    }
    default:
      return {
        address1: `${home.number} ${home.street} ${home.suffix[0]}`,
        address2: home.unit ? `Apt ${home.unit === '9D' ? '8C' : '9D'}` : 'Apt 12',
        city,
        province,
        zip,
        phone,
      };
  }
}

function respelled(i: number, home: Home, phone: string): ShipTo {
  const [city, province, zip] = home.place;
  const unitVariants = [
    `Apartment ${home.unit.slice(0, -1)}-${home.unit.slice(-1)}`,
    `#${home.unit}`,
    `Unit ${home.unit}`,
    `APT ${home.unit}`,
  ];
  const unit = home.unit ? unitVariants[i % unitVariants.length]! : '';
  switch (i % 4) {
    case 0:
      return {
        address1: `${home.number} ${home.street} ${home.suffix[1]}`,
        address2: unit,
        city,
        province,
        zip,
        phone,
      };
    case 1:
      return {
        address1: `${home.number} ${home.street.toUpperCase()} ${home.suffix[0].toUpperCase()}`,
        address2: unit,
        city: city.toUpperCase(),
        province,
        zip: `${zip}-${String(1000 + (i % 9000))}`,
        phone,
      };
    case 2:
      return {
        address1: `${home.number} ${home.street} ${home.suffix[1]}.`,
        address2: unit,
        city,
        province,
        zip: `${zip}-0042`,
        phone,
      };
    default:
      return {
        address1: `${home.number} ${home.street} ${home.suffix[1]}${unit ? `, ${unit}` : ''}`,
        address2: '',
        city,
        province,
        zip,
        phone,
      };
  }
}

function olderShipTo(i: number, home: Home, scenario: number): ShipTo {
  const [city, province, zip] = home.place;
  if (scenario <= 1)
    return {
      address1: `${home.number} ${home.street} ${home.suffix[0]}`,
      address2: home.unit ? `Apt ${home.unit}` : '',
      city,
      province,
      zip,
      phone: phoneOf(i, home),
    };
  return {
    address1: `${home.number + 40} ${STREETS[(i + 7) % STREETS.length]} ${home.suffix[0]}`,
    address2: '',
    city,
    province,
    zip,
    phone: phoneOf(i, home),
  };
}

class ChunkWriter {
  private buf = '';
  readonly fd: number;
  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }
  line(fields: readonly string[]): void {
    let line = '';
    for (let k = 0; k < fields.length; k++) line += k === 0 ? csvField(fields[k]!) : `,${csvField(fields[k]!)}`;
    this.buf += `${line}\n`;
    if (this.buf.length > 1 << 20) this.flush();
  }
  raw(text: string): void {
    this.buf += text;
  }
  flush(): void {
    writeSync(this.fd, this.buf);
    this.buf = '';
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

function csvField(v: string): string {
  if (v === '') return v;
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function emailOf(i: number): string {
  return `customer${i}@example.com`;
}

export function writeSyntheticExports(dir: string, opts: SyntheticOptions): SyntheticExports {
  const truth: SyntheticTruth = {
    stale: new Set(),
    formatOnly: new Set(),
    phoneMismatch: new Set(),
    phoneFormatOnly: new Set(),
    missingInCrm: new Set(),
    duplicates: new Set(),
  };
  const crmFile = join(dir, 'hubspot-contacts.csv');
  const ordersFile = join(dir, 'shopify-orders.csv');
  const crmRows = writeContacts(crmFile, opts, truth);
  const orderRows = writeOrders(ordersFile, opts, truth);
  return { crmFile, ordersFile, crmRows, orderRows, truth };
}

function writeContacts(file: string, opts: SyntheticOptions, truth: SyntheticTruth): number {
  const w = new ChunkWriter(file);
  const header = opts.messy
    ? [...HUBSPOT_HEADER.slice(5), HUBSPOT_EXTRA[0]!, ...HUBSPOT_HEADER.slice(0, 5), HUBSPOT_EXTRA[1]!]
    : HUBSPOT_HEADER;
  if (opts.messy) w.raw('\uFEFF');
  w.line(header);
  const every = opts.duplicateEvery ?? 1000;
  let rows = 0;
  for (let i = 0; i < opts.contacts; i++) {
    const home = homeOf(i);
    const values: Record<string, string> = {
      'Record ID': String(1000 + i),
      'First Name': FIRST[i % FIRST.length]!,
      'Last Name': LAST[(i >> 2) % LAST.length]!,
      Email: emailOf(i),
      'Phone Number': phoneOf(i, home),
      'Street Address': `${home.number} ${home.street} ${home.suffix[0]}${home.unit ? ` Apt ${home.unit}` : ''}`,
      City: home.place[0],
      'State/Region': home.place[1],
      'Postal Code': home.place[2],
      'Country/Region': 'United States',
      'Lifecycle Stage': 'customer',
      Notes: i % 5 === 0 ? 'VIP, "gold"\nprefers email' : '',
    };
    w.line(header.map((h) => values[h] ?? ''));
    rows++;
    if (every > 0 && i % every === every - 1) {
      w.line(
        header.map((h) =>
          h === 'Record ID'
            ? String(900_000_000 + i)
            : h === 'Email'
              ? ` ${emailOf(i).toUpperCase()}`
              : (values[h] ?? ''),
        ),
      );
      rows++;
      truth.duplicates.add(emailOf(i));
    }
  }
  w.close();
  return rows;
}

interface OrderPlan {
  email: string;
  shipTo: ShipTo;
  createdAt: number;
  items: number;
}

/** Pass 0 gives every ordering customer their latest order, later passes older ones. */
function* planOrders(opts: SyntheticOptions, truth: SyntheticTruth): Generator<OrderPlan> {
  const missing = opts.missing ?? Math.max(1, Math.floor(opts.contacts / 100));
  const customers = opts.contacts + missing;
  for (let pass = 0; ; pass++) {
    let any = false;
    for (let c = 0; c < customers; c++) {
      const inCrm = c < opts.contacts;
      const i = inCrm ? c : c - opts.contacts;
      const scenario = i % 20;
      if (inCrm && scenario >= 17) continue;
      any = true;
      const home = homeOf(inCrm ? i : i + 7_000_000);
      const email = inCrm ? emailOf(i) : `guest${i}@example.net`;
      const latestAt = opts.asOf - (1 + ((c * 37) % 720)) * 86_400_000;
      const createdAt = latestAt - pass * (45 + (c % 300)) * 86_400_000;
      const shipTo = !inCrm
        ? latestShipTo(i, home, 10)
        : pass === 0
          ? latestShipTo(i, home, scenario)
          : olderShipTo(i, home, scenario);
      if (pass === 0) recordTruth(truth, inCrm, email, scenario);
      yield { email, shipTo, createdAt, items: 1 + ((c + pass) % 3) };
    }
    if (!any) return;
  }
}

function recordTruth(truth: SyntheticTruth, inCrm: boolean, email: string, scenario: number): void {
  if (!inCrm) truth.missingInCrm.add(email);
  else if (scenario <= 1) truth.stale.add(email);
  else if (scenario <= 4) truth.formatOnly.add(email);
  else if (scenario === 5) truth.phoneMismatch.add(email);
  else if (scenario === 6) truth.phoneFormatOnly.add(email);
}

function writeOrders(file: string, opts: SyntheticOptions, truth: SyntheticTruth): number {
  const plans: OrderPlan[] = [];
  let rows = 0;
  for (const plan of planOrders(opts, truth)) {
    if (rows >= opts.orderRows) break;
    plans.push(plan);
    rows += plan.items;
  }
  if (opts.oldestFirst) plans.reverse();
  const w = new ChunkWriter(file);
  w.line(SHOPIFY_ORDERS_HEADER);
  const col = new Map(SHOPIFY_ORDERS_HEADER.map((h, k) => [h, k]));
  const empty = SHOPIFY_ORDERS_HEADER.map(() => '');
  plans.forEach((plan, n) => {
    const name = `#${1001 + n}`;
    for (let item = 0; item < plan.items; item++) {
      const row = empty.slice();
      row[col.get('Name')!] = name;
      row[col.get('Lineitem quantity')!] = '1';
      row[col.get('Lineitem name')!] = `Serum ${item + 1}`;
      row[col.get('Lineitem price')!] = '19.00';
      if (item === 0) fillOrderFields(row, col, plan, n);
      w.line(row);
    }
  });
  w.close();
  return rows;
}

function fillOrderFields(row: string[], col: Map<string, number>, plan: OrderPlan, n: number): void {
  const s = plan.shipTo;
  const set = (h: string, v: string): void => {
    row[col.get(h)!] = v;
  };
  set('Email', plan.email);
  set('Financial Status', 'paid');
  set('Currency', 'USD');
  set('Total', '59.00');
  set('Created at', shopifyDate(plan.createdAt));
  set('Shipping Name', 'A Customer');
  set('Shipping Street', [s.address1, s.address2].filter(Boolean).join(' '));
  set('Shipping Address1', s.address1);
  set('Shipping Address2', s.address2);
  set('Shipping City', s.city);
  set('Shipping Zip', `'${s.zip}`);
  set('Shipping Province', s.province);
  set('Shipping Country', 'US');
  set('Shipping Phone', s.phone);
  set('Id', String(5_210_000_000_000 + n));
}

/** `2024-05-01 10:00:00 -0400`, as Shopify exports write it. */
export function shopifyDate(ms: number): string {
  const d = new Date(ms - 4 * 3_600_000);
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} -0400`;
}

/** Stripe and Zendesk exports beside the synthetic HubSpot contacts, and what each should yield. */
export interface SystemExports {
  stripeFile: string;
  zendeskFile: string;
  /** Per system, per finding kind: the emails that must be reported (and nothing else). */
  truth: Record<'stripe' | 'zendesk', Record<string, Set<string>>>;
}

export const STRIPE_CUSTOMERS_HEADER = [
  'id',
  'Description',
  'Email',
  'Name',
  'Created (UTC)',
  'Phone',
  'Shipping Name',
  'Shipping Address Line1',
  'Shipping Address Line2',
  'Shipping Address City',
  'Shipping Address State',
  'Shipping Address Country',
  'Shipping Address Postal Code',
  'Delinquent',
  'Currency',
  'hearth_id (metadata)',
];

export const ZENDESK_USERS_HEADER = ['id', 'name', 'email', 'role', 'phone', 'external_id', 'address_of_record'];

/**
 * For the contacts `writeSyntheticExports` writes (same people, same addresses), customer i's
 * Stripe record follows `i % 10`: 0 moved (address_mismatch), 1 address respelled, 3 phone as
 * E.164 (format_only), 2 another phone, 4 another last name (mismatch), 5 no Stripe customer
 * (missing_in_system), else identical; `extra` Stripe-only customers are missing_in_crm. Zendesk
 * follows `i % 10`: 0 another address of record (one line), 1 name as `Last, First`
 * (format_only), 2 no user, 3 another phone, else identical (address of record as Hearth writes it).
 */
export function writeSystemExports(dir: string, contacts: number, extra = 5): SystemExports {
  const kinds = ['address_mismatch', 'phone_mismatch', 'name_mismatch', 'format_only', 'missing_in_system'];
  const truth: SystemExports['truth'] = {
    stripe: Object.fromEntries([...kinds, 'missing_in_crm'].map((k) => [k, new Set<string>()])),
    zendesk: Object.fromEntries([...kinds, 'missing_in_crm'].map((k) => [k, new Set<string>()])),
  };
  const stripeFile = join(dir, 'stripe-customers.csv');
  const zendeskFile = join(dir, 'zendesk-users.csv');
  const s = new ChunkWriter(stripeFile);
  const z = new ChunkWriter(zendeskFile);
  s.line(STRIPE_CUSTOMERS_HEADER);
  z.line(ZENDESK_USERS_HEADER);
  for (let i = 0; i < contacts; i++) {
    const email = emailOf(i);
    const home = homeOf(i);
    const first = FIRST[i % FIRST.length]!;
    const last = LAST[(i >> 2) % LAST.length]!;
    const phone = phoneOf(i, home);
    const scenario = i % 10;
    const at = scenario === 0 ? homeOf(i + 5_000_000) : home;
    const street = `${at.number} ${at.street} ${at.suffix[scenario === 1 ? 1 : 0]}`;
    const unit = at.unit ? `${scenario === 1 ? 'Apartment' : 'Apt'} ${at.unit}` : '';
    if (scenario !== 5) {
      const stripePhone =
        scenario === 2 ? `(${home.place[3]}) 555-0000` : scenario === 3 ? `+1${phone.replace(/\D/g, '')}` : phone;
      const name = scenario === 4 ? `${first} Zed` : `${first} ${last}`;
      s.line([
        `cus_${i}`,
        '',
        email,
        name,
        '2024-01-01 00:00',
        stripePhone,
        name,
        street,
        unit,
        at.place[0],
        at.place[1],
        'US',
        at.place[2],
        'false',
        'usd',
        `hearth-${i}`,
      ]);
    }
    const stripeKind = [
      'address_mismatch',
      'format_only',
      'phone_mismatch',
      'format_only',
      'name_mismatch',
      'missing_in_system',
    ][scenario];
    if (stripeKind) truth.stripe[stripeKind]!.add(email);
    if (scenario !== 2) {
      const where = scenario === 0 ? homeOf(i + 6_000_000) : home;
      const line = [
        `${where.number} ${where.street} ${where.suffix[0]}${where.unit ? ` Apt ${where.unit}` : ''}`,
        where.place[0],
        `${where.place[1]} ${where.place[2]}`,
        'United States',
      ].join(', ');
      const name = scenario === 1 ? `${last}, ${first}` : `${first} ${last}`;
      const zPhone = scenario === 3 ? `(${home.place[3]}) 555-0001` : phone;
      z.line([String(9000 + i), name, email, 'end-user', zPhone, `hearth-${i}`, line]);
    }
    const zendeskKind = ['address_mismatch', 'format_only', 'missing_in_system', 'phone_mismatch'][scenario];
    if (zendeskKind) truth.zendesk[zendeskKind]!.add(email);
  }
  for (let k = 0; k < extra; k++) {
    const email = `stripe-only${k}@example.org`;
    s.line([`cus_x${k}`, '', email, 'Only Stripe', '', '', '', '', '', '', '', '', '', 'false', 'usd', '']);
    truth.stripe.missing_in_crm!.add(email);
  }
  s.close();
  z.close();
  return { stripeFile, zendeskFile, truth };
}
