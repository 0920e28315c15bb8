import { z } from 'zod';
import { MAX_TEXT, stripControl, vendorId, vendorText } from '../common/ingress.ts';

/** The flat Contact fields the parser maps (compound `MailingAddress` / `Name` are flattened into these). */
export const FLAT_FIELDS = [
  'Email',
  'Phone',
  'MailingStreet',
  'MailingCity',
  'MailingState',
  'MailingPostalCode',
  'MailingCountry',
  'FirstName',
  'LastName',
];

const scalar = z.union([z.string().max(MAX_TEXT).transform(stripControl), z.number(), z.boolean()]).nullish();

const header = z.looseObject({
  entityName: vendorText,
  recordIds: z.array(z.string().min(1).max(200)).max(1000).nullish(),
  changeType: vendorText,
  changeOrigin: vendorText,
  commitTimestamp: z.number().int().nonnegative().nullish(),
  nulledFields: z.array(z.string().max(200)).max(1000).nullish(),
});

/**
 * What the parser reads of each change event, checked before anything is stored: the header's
 * types, each mapped field a string or null (compound fields: objects of scalars), the account
 * fields strings. Other properties (custom `__c` fields among them) pass untouched.
 */
export const changeEventsSchema = z
  .array(
    z.looseObject({
      replayId: vendorId.nullish(),
      ChangeEventHeader: header.nullish(),
      MailingAddress: z.record(z.string().max(200), scalar).nullish(),
      Name: z.union([z.record(z.string().max(200), scalar), scalar]),
      AccountId: vendorText,
      npe01__One2OneContact__c: vendorText,
      Email: vendorText,
      Phone: vendorText,
      MailingStreet: vendorText,
      MailingCity: vendorText,
      MailingState: vendorText,
      MailingPostalCode: vendorText,
      MailingCountry: vendorText,
      FirstName: vendorText,
      LastName: vendorText,
    }),
  )
  .max(1000);
