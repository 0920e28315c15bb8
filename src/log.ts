import pino, { type Logger } from 'pino';

export type { Logger };

const SECRET_KEYS = [
  'access_token',
  'client_secret',
  'webhook_secret',
  'cdc_secret',
  'secret',
  'password',
  'authorization',
  'api_key',
  'key_hash',
];

/** Paths that may hold credentials, up to three levels deep; pino replaces them before writing. */
const REDACT = [
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]),
  'req.headers.authorization',
  'req.headers["x-hearth-signature"]',
];

/**
 * `signatureHeaders`: request headers that carry vendor signatures (from the connector
 * descriptors, `signatureHeaders()` in connectors/registry.ts), redacted like credentials.
 */
export function createLogger(
  level: string,
  destination?: pino.DestinationStream,
  signatureHeaders: readonly string[] = [],
): Logger {
  const paths = [...REDACT, ...signatureHeaders.map((h) => `req.headers[${JSON.stringify(h.toLowerCase())}]`)];
  return pino({ level, redact: { paths, censor: '[redacted]' }, base: { service: 'hearth' } }, destination);
}

/** Removes bearer tokens, api keys and secrets from text (vendor error bodies, URLs) before it is stored or logged. */
export function scrubSecrets(text: string): string {
  return text
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=!-]+/gi, '$1[redacted]')
    .replace(
      /((?:access_token|hapikey|api_key|apikey|client_secret|password|token)["']?\s*[=:]\s*["']?)[^"'&\s,}]+/gi,
      '$1[redacted]',
    )
    .replace(/(\/\/[^:@/\s]+:)[^@/\s]+@/g, '$1[redacted]@');
}
