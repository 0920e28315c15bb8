import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONNECTORS, contactsExport } from '../connectors/registry.ts';
import { isHearthError } from '../errors.ts';
import { readCrmContacts } from './crm-reader.ts';
import { systemAuditFormat } from './system-columns.ts';
import { compareNames, systemJoin } from './system-join.ts';
import { readSystemRecords } from './system-reader.ts';

const HUBSPOT = contactsExport(CONNECTORS, 'hubspot');
const STRIPE = systemAuditFormat(contactsExport(CONNECTORS, 'stripe'));
const ZENDESK = systemAuditFormat(contactsExport(CONNECTORS, 'zendesk'));

function file(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'hearth-audit-sys-')), name);
  writeFileSync(path, text);
  return path;
}

const CRM =
  'Record ID,First Name,Last Name,Email,Phone Number,Street Address,City,State/Region,Postal Code,Hearth ID\n' +
  '1,Jane,Doe,Jane@X.com,(217) 555-0100,1 Main Street Apt 4B,Springfield,IL,62701,h-1\n' +
  '2,Bob,Roe,bob@x.com,217-555-0199,9 Elm St,Springfield,IL,62701,h-2\n' +
  '3,Al,Poe,al@x.com,,,,,,\n';

test('Stripe export: dashboard column names, metadata as "hearth_id (metadata)", rows without email', async () => {
  const stripe = await readSystemRecords(
    file(
      'stripe.csv',
      '\uFEFFid,Email,Name,Phone,Shipping Address Line1,Shipping Address Line2,Shipping Address City,' +
        'Shipping Address State,Shipping Address Postal Code,Shipping Address Country,hearth_id (metadata)\n' +
        'cus_1, JANE@x.com ,Jane Doe,+12175550100,1 Main St,Apartment 4-B,Springfield,IL,62701,US,h-1\n' +
        'cus_2,,No Email,,,,,,,,\n' +
        'cus_3,jane@x.com,Jane D,,,,,,,,\n',
    ),
    STRIPE,
  );
  assert.equal(stripe.rowsRead, 3);
  assert.equal(stripe.records, 2);
  assert.equal(stripe.withoutEmail, 1);
  const first = stripe.byEmail.get('jane@x.com')!;
  assert.equal(first.hearthId, 'h-1');
  assert.equal(first.next?.id, 'cus_3', 'two Stripe customers with one email are both kept');
});

test('a Stripe export without Email: one error naming the file and the column', async () => {
  await assert.rejects(
    readSystemRecords(file('s.csv', 'id,Name\ncus_1,Ana\n'), STRIPE),
    (err: unknown) =>
      isHearthError(err) && err.code === 'invalid_input' && /s\.csv: missing required column "Email"/.test(err.message),
  );
});

test('join by email, else by Hearth id; differences classified; presence both ways', async () => {
  const crm = await readCrmContacts(file('crm.csv', CRM), HUBSPOT, { people: true });
  assert.equal(crm.byEmail.get('jane@x.com')!.name, 'Jane Doe');
  const stripe = await readSystemRecords(
    file(
      'stripe.csv',
      'id,Email,Name,Phone,Shipping Address Line1,Shipping Address Line2,Shipping Address City,' +
        'Shipping Address State,Shipping Address Postal Code,hearth_id (metadata)\n' +
        'cus_1,jane@x.com,Jane Doe,+12175550100,1 Main St,Apartment 4-B,Springfield,IL,62701-1234,h-1\n' +
        // Bob pays under another email; his Hearth id joins him to CRM record 2.
        'cus_2,bob.work@y.com,Robert Roe,+12175550111,22 Pine Rd,,Chicago,IL,60601,h-2\n' +
        'cus_3,ghost@z.com,Ghost,,,,,,,h-9\n',
    ),
    STRIPE,
  );
  const j = systemJoin('stripe', crm, stripe);
  const kinds = j.findings.map((f) => `${f.kind}:${f.email}:${f.evidence.field}`).sort();
  assert.deepEqual(kinds, [
    'address_mismatch:bob.work@y.com:address',
    'format_only:jane@x.com:address',
    'format_only:jane@x.com:phone',
    'missing_in_crm:ghost@z.com:contact',
    'missing_in_system:al@x.com:contact',
    'name_mismatch:bob.work@y.com:name',
    'phone_mismatch:bob.work@y.com:phone',
  ]);
  assert.equal(j.joined, 2);
  assert.equal(j.joinedByHearthId, 1);
  const phone = j.findings.find((f) => f.kind === 'phone_mismatch')!;
  assert.equal(phone.crm_id, '2');
  assert.equal(phone.evidence.crm_e164, '+12175550199');
  assert.equal(phone.evidence.system_e164, '+12175550111');
  assert.equal(j.counts.format_only, 2);
});

test("Hearth's database maps a Hearth id to the CRM record when the export has no Hearth ID column", async () => {
  const crm = await readCrmContacts(
    file('crm.csv', 'Record ID,Email,Street Address,City,Postal Code\n7,bob@x.com,9 Elm St,Springfield,62701\n'),
    HUBSPOT,
    { people: true },
  );
  const zendesk = await readSystemRecords(
    file('users.csv', 'id,name,email,phone,external_id\n40,Bob Roe,bob.home@y.com,,cust-uuid-7\n'),
    ZENDESK,
  );
  assert.equal(systemJoin('zendesk', crm, zendesk).counts.missing_in_crm, 1, 'without the map: two people');
  const j = systemJoin('zendesk', crm, zendesk, { hearthIds: new Map([['cust-uuid-7', '7']]) });
  assert.equal(j.counts.missing_in_crm, 0);
  assert.equal(j.counts.missing_in_system, 0);
  assert.equal(j.joinedByHearthId, 1);
});

test("Zendesk's one-line address of record compares as a delivery point", async () => {
  const crm = await readCrmContacts(file('crm.csv', CRM), HUBSPOT, { people: true });
  const zendesk = await readSystemRecords(
    file(
      'users.csv',
      'id,name,email,phone,external_id,address_of_record\n' +
        '10,"Doe, Jane",jane@x.com,217.555.0100,h-1,"1 Main St #4B, Springfield, IL 62701, United States"\n' +
        '11,Bob Roe,bob@x.com,,h-2,"9 Elm St, Springfield, IL 62701"\n' +
        '12,Al Poe,al@x.com,,h-3,"7 Birch Ave, Springfield, IL 62704"\n',
    ),
    ZENDESK,
  );
  const j = systemJoin('zendesk', crm, zendesk);
  const kinds = j.findings.map((f) => `${f.kind}:${f.email}:${f.evidence.field}`).sort();
  assert.deepEqual(kinds, [
    'format_only:jane@x.com:address',
    'format_only:jane@x.com:name',
    'format_only:jane@x.com:phone',
    // Al has no address in the CRM; Zendesk keeps one.
    'missing_address:al@x.com:address',
  ]);
});

test('names: case, accents, punctuation and word order are format-only; other words differ', () => {
  assert.equal(compareNames('Jane Doe', 'Jane Doe'), 'same');
  assert.equal(compareNames('Zoë O’Neil', "zoe o'neil"), 'format_only');
  assert.equal(compareNames('Ann Marie Lee', 'Annmarie Lee'), 'format_only');
  assert.equal(compareNames('Zoë O-Neil', 'ZOE O NEIL'), 'format_only');
  assert.equal(compareNames('Jane Doe', 'Doe, Jane'), 'format_only');
  assert.equal(compareNames('Jane Doe', 'Jane Smith'), 'mismatch');
});
