/** `connectors.salesforce` after validation (descriptor.ts holds the schema). */
export interface SalesforceConfig {
  instance_url: string;
  access_token: string;
  api_version: string;
  client_id: string;
  cdc_secret?: string | undefined;
  timeout_ms?: number | undefined;
}
