import { normalizeEmail } from '../canonical/customer.ts';
import { createDataCipher, isEncrypted, type SecurityConfig } from '../crypto/data-keys.ts';
import { openDatabase } from '../db/database.ts';
import { HearthError } from '../errors.ts';

/**
 * Hearth's crosswalk as the audit needs it: every email a known customer goes by (the canonical
 * one and those its source records carry) -> the id of that customer's record in the audited CRM.
 * An order placed under another address of someone the CRM knows then joins their contact
 * instead of counting as missing from the CRM.
 */
export type Crosswalk = Map<string, string>;

/** `crm`: the audited CRM's system name in the crosswalk; `security` reads encrypted snapshots. */
export async function loadCrosswalk(dbUrl: string, crm: string, security?: SecurityConfig): Promise<Crosswalk> {
  const cipher = security ? createDataCipher(security) : null;
  const hdb = openDatabase(dbUrl);
  try {
    const rows = await hdb.db
      .selectFrom('source_links as crm')
      .innerJoin('customers as c', 'c.id', 'crm.customer_id')
      .leftJoin('source_links as other', 'other.customer_id', 'c.id')
      .select(['crm.external_id as crm_id', 'c.email_normalized as email', 'other.snapshot as snapshot'])
      .where('crm.system', '=', crm)
      .where('c.merged_into', 'is', null)
      .execute();
    const out: Crosswalk = new Map();
    for (const r of rows) {
      const snapshot = r.snapshot && cipher ? cipher.decrypt(r.snapshot) : r.snapshot;
      for (const email of [r.email, ...snapshotEmails(snapshot)])
        if (email && !out.has(email)) out.set(email, r.crm_id);
    }
    return out;
  } finally {
    await hdb.close();
  }
}

// Vendors name the field differently (Shopify and HubSpot `email`, Salesforce `Email`).
function snapshotEmails(snapshot: string | null): string[] {
  if (!snapshot) return [];
  if (isEncrypted(snapshot))
    throw new HearthError(
      'invalid_config',
      "the database's source snapshots are encrypted: pass --config with its security section (data keys)",
    );
  const fields = JSON.parse(snapshot) as Record<string, unknown>;
  return ['email', 'Email']
    .map((k) => (typeof fields[k] === 'string' ? normalizeEmail(fields[k] as string) : null))
    .filter((e): e is string => Boolean(e));
}

/**
 * Hearth customer id -> the audited CRM's record id, for Stripe and Zendesk records that carry
 * the Hearth id (`metadata.hearth_id`, `external_id`) under another email than the CRM's.
 */
export async function loadHearthIds(dbUrl: string, crm: string): Promise<Map<string, string>> {
  const hdb = openDatabase(dbUrl);
  try {
    const rows = await hdb.db
      .selectFrom('source_links as crm')
      .innerJoin('customers as c', 'c.id', 'crm.customer_id')
      .select(['c.id as hearth_id', 'crm.external_id as crm_id'])
      .where('crm.system', '=', crm)
      .where('c.merged_into', 'is', null)
      .execute();
    return new Map(rows.map((r) => [String(r.hearth_id), r.crm_id]));
  } finally {
    await hdb.close();
  }
}
