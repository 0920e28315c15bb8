import type { CredentialConfig } from '../common/credentials.ts';
import type { CdcConfig } from './cdc.ts';

/** `connectors.salesforce` after validation (descriptor.ts holds the schema). */
export interface SalesforceConfig extends CredentialConfig {
  instance_url: string;
  /** Where the token endpoint lives (a sandbox: https://test.salesforce.com; My Domain login). */
  login_url?: string | undefined;
  api_version: string;
  client_id: string;
  cdc_secret?: string | undefined;
  timeout_ms?: number | undefined;
  cdc?: CdcConfig | undefined;
}
