import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isHearthError } from '../errors.ts';
import { headerKey, resolveColumns } from './columns.ts';
import { readCrmContacts } from './crm-reader.ts';
import { monthsBetween, parseOrderDate } from './order-date.ts';
import { addOrderRow, emptyOrderFold, readLatestOrders } from './orders-reader.ts';
import { displayAddress, unpackAddress } from './packed-address.ts';
import { CONNECTORS, contactsExport, ordersExport } from '../connectors/registry.ts';

const SHOPIFY = ordersExport(CONNECTORS, 'shopify');

function file(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'hearth-audit-')), name);
  writeFileSync(path, text);
  return path;
}

test('header names match without case, spaces, punctuation or a BOM', () => {
  assert.equal(headerKey('\uFEFFMailing_Street'), headerKey('mailing street'));
  const cols = resolveColumns(
    'x.csv',
    ['Extra', 'postal code', 'EMAIL', 'street address', 'Record ID', 'City'],
    contactsExport(CONNECTORS, 'hubspot').columns,
    'hubspot contacts export',
  );
  assert.deepEqual(cols, { id: 4, email: 2, street: 3, city: 5, postal_code: 1 });
});

test('a missing required column is one error naming the file and the vendor column', () => {
  assert.throws(
    () =>
      resolveColumns(
        'crm.csv',
        ['Record ID', 'Email', 'City', 'Postal Code'],
        contactsExport(CONNECTORS, 'hubspot').columns,
        'hubspot contacts export',
      ),
    (err: unknown) =>
      isHearthError(err) &&
      err.code === 'invalid_input' &&
      err.message === 'crm.csv: missing required column "Street Address" (hubspot contacts export)',
  );
  assert.throws(
    () =>
      resolveColumns(
        'o.csv',
        ['Name', 'Email', 'Shipping City', 'Shipping Zip'],
        SHOPIFY.columns,
        'shopify orders export',
      ),
    /o\.csv: missing required column "Created at"/,
  );
});

test('HubSpot export: BOM, quoting, shuffled and extra columns, duplicate emails chained', async () => {
  const path = file(
    'hubspot.csv',
    '\uFEFF"Notes","Postal Code","City","Street Address","Email","Record ID","Phone Number"\n' +
      '"says ""hi"",\nbye","62704","Springfield","123 Main Street Apt 4B",' +
      '" Jane@Example.COM ","51","(217) 555-0101"\n' +
      ',,,,,52,\n' +
      '"","62704","Springfield","9 Oak Ave","jane@example.com","53",""\n',
  );
  const crm = await readCrmContacts(path, contactsExport(CONNECTORS, 'hubspot'));
  assert.equal(crm.rowsRead, 3);
  assert.equal(crm.contacts, 2);
  assert.equal(crm.withoutEmail, 1);
  const jane = crm.byEmail.get('jane@example.com')!;
  assert.equal(jane.id, '51');
  assert.equal(jane.phone, '(217) 555-0101');
  assert.equal(displayAddress(jane.address), '123 Main Street Apt 4B, Springfield, 62704');
  assert.equal(jane.next?.id, '53');
});

test('Salesforce API names with a multi-line MailingStreet; Zoho labels', async () => {
  const sf = await readCrmContacts(
    file(
      'sf.csv',
      'Id,Email,MailingStreet,MailingCity,MailingState,MailingPostalCode,MailingCountry,Phone\n' +
        '003A,a@x.com,"1 Main St\nApt 4",Springfield,IL,62701,United States,+13125551212\n',
    ),
    contactsExport(CONNECTORS, 'salesforce'),
  );
  assert.deepEqual(unpackAddress(sf.byEmail.get('a@x.com')!.address), {
    line1: '1 Main St Apt 4',
    line2: '',
    city: 'Springfield',
    region: 'IL',
    postal_code: '62701',
    country: 'United States',
  });
  const zoho = await readCrmContacts(
    file(
      'zoho.csv',
      'Record Id,Email,Mailing Street,Mailing City,Mailing State,Mailing Zip,Mobile\n' +
        'z1,b@x.com,5 Elm Rd,Austin,TX,78701,512-555-0100\n',
    ),
    contactsExport(CONNECTORS, 'zoho'),
  );
  assert.equal(zoho.byEmail.get('b@x.com')!.phone, '512-555-0100');
  await assert.rejects(
    readCrmContacts(
      file('zoho2.csv', 'Record Id,Email,Mailing City,Mailing Zip\n'),
      contactsExport(CONNECTORS, 'zoho'),
    ),
    /missing required column "Mailing Street"/,
  );
});

test('Shopify dates: export format, ISO, bare dates; garbage is NaN', () => {
  assert.equal(parseOrderDate('2024-05-01 10:00:00 -0400'), Date.parse('2024-05-01T14:00:00Z'));
  assert.equal(parseOrderDate('2024-05-01T10:00:00+02:00'), Date.parse('2024-05-01T08:00:00Z'));
  assert.equal(parseOrderDate('2024-05-01'), Date.parse('2024-05-01T00:00:00Z'));
  assert.ok(Number.isNaN(parseOrderDate('yesterday')));
  assert.ok(Number.isNaN(parseOrderDate('2024-13-01')));
  assert.equal(monthsBetween(Date.parse('2024-01-01'), Date.parse('2024-07-15')), 6);
  assert.equal(monthsBetween(Date.parse('2024-07-15'), Date.parse('2024-01-01')), 0);
});

test('orders fold: line items collapse into one order, the most recent order wins in any file order', () => {
  const cols = { name: 0, email: 1, created_at: 2, address1: 3, city: 4, zip: 5, shipping_phone: 6 } as const;
  const fold = emptyOrderFold();
  const rows = [
    ['#1002', 'a@x.com', '2024-06-01 10:00:00 -0400', '9 New Rd', 'Austin', "'78701", ''],
    ['#1002', '', '', '', '', '', ''],
    ['', '', '', '', '', '', ''],
    ['#1001', 'A@X.com', '2024-01-01 10:00:00 -0400', '1 Old St', 'Austin', '78701', ''],
    ['#1003', 'a@x.com', '2023-01-01 10:00:00 -0400', '1 Older St', 'Austin', '78701', ''],
    ['#1004', '', '2024-01-01 10:00:00 -0400', '1 Guest St', 'Austin', '78701', ''],
    ['#1005', 'b@x.com', 'not a date', '1 B St', 'Austin', '78701', ''],
    ['#1004', '', '', '', '', '', ''], // a line item out of place is still no order
  ];
  for (const r of rows) addOrderRow(fold, cols, r);
  assert.equal(fold.orders, 5);
  assert.equal(fold.withoutEmail, 1);
  assert.equal(fold.badDates, 1);
  assert.equal(fold.latest.size, 1);
  const a = fold.latest.get('a@x.com')!;
  assert.equal(a.name, '#1002');
  assert.equal(displayAddress(a.address), '9 New Rd, Austin, 78701');
});

test(
  'orders export with only the combined Shipping Street ' + 'column is accepted; with neither it is refused',
  async () => {
    const ok = await readLatestOrders(
      file(
        'o.csv',
        'Name,Email,Created at,Shipping Street,Shipping City,Shipping Zip\n' +
          '#1,a@x.com,2024-01-01 00:00:00 +0000,1 Main St Apt 2,Austin,78701\n',
      ),
      SHOPIFY,
    );
    assert.equal(unpackAddress(ok.latest.get('a@x.com')!.address).line1, '1 Main St Apt 2');
    await assert.rejects(
      readLatestOrders(file('bad.csv', 'Name,Email,Created at,Shipping City,Shipping Zip\n'), SHOPIFY),
      /bad\.csv: missing required column "Shipping Address1"/,
    );
    await assert.rejects(readLatestOrders(file('empty.csv', ''), SHOPIFY), /empty\.csv: empty file/);
    await assert.rejects(
      readLatestOrders('/nonexistent/orders.csv', SHOPIFY),
      /orders\.csv: cannot read file \(no such file\)/,
    );
  },
);
