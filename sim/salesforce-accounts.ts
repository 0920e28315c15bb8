/**
 * NPSP Household Accounts for the Salesforce simulator: Accounts with a record type
 * (`HH_Account`), `npe01__SYSTEM_AccountType__c` and a primary contact
 * (`npe01__One2OneContact__c`); members are Contacts whose `AccountId` points here.
 */
export interface SimAccount {
  Name: string;
  RecordTypeDeveloperName?: string;
  npe01__SYSTEM_AccountType__c?: string | null;
  npe01__One2OneContact__c?: string | null;
}

export interface SalesforceAccountSim {
  createAccount(a: SimAccount): string;
  getAccount(id: string): SimAccount | undefined;
  updateAccount(id: string, a: Partial<SimAccount>): void;
}

export interface AccountRoutes extends SalesforceAccountSim {
  /** `SELECT ... FROM Account [WHERE Id IN (...)]`; relationship fields (`RecordType.DeveloperName`) come nested. */
  query(soql: string): { status: number; body: unknown };
}

export function createAccountStore(): AccountRoutes {
  const accounts = new Map<string, SimAccount>();
  let seq = 1;
  const record = (Id: string, fields: string[]) => {
    const a = accounts.get(Id)!;
    const out: Record<string, unknown> = {
      attributes: { type: 'Account', url: `/services/data/v62.0/sobjects/Account/${Id}` },
      Id,
    };
    for (const f of fields) {
      if (f === 'RecordType.DeveloperName')
        out.RecordType = a.RecordTypeDeveloperName
          ? { attributes: { type: 'RecordType' }, DeveloperName: a.RecordTypeDeveloperName }
          : null;
      else out[f] = (a as unknown as Record<string, unknown>)[f] ?? null;
    }
    return out;
  };
  return {
    createAccount(a) {
      const id = `0015g00000${String(seq++).padStart(5, '0')}AAA`;
      accounts.set(id, { ...a });
      return id;
    },
    getAccount: (id) => accounts.get(id),
    updateAccount(id, a) {
      Object.assign(accounts.get(id)!, a);
    },
    query(soql) {
      const fields = (/^\s*SELECT\s+(.+?)\s+FROM\b/i.exec(soql)?.[1] ?? 'Id')
        .split(',')
        .map((f) => f.trim())
        .filter((f) => f !== 'Id');
      const keys = [...soql.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
      const ids = [...accounts.keys()].filter((id) => !/\bWHERE\b/i.test(soql) || keys.includes(id));
      return { status: 200, body: { totalSize: ids.length, done: true, records: ids.map((id) => record(id, fields)) } };
    },
  };
}
