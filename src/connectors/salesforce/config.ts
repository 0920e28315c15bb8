import type { CredentialConfig } from '../common/credentials.ts';

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

/** `connectors.salesforce.cdc` after validation (the Pub/Sub API subscriber, cdc.ts). */
export interface CdcConfig {
  enabled: boolean;
  channels: string[];
  pubsub_url: string;
  org_id?: string | undefined;
  batch_size: number;
}
