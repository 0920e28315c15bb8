import pino, { type Logger } from 'pino';

export type { Logger };

const SECRET_KEYS = ['access_token', 'client_secret', 'webhook_secret', 'cdc_secret', 'secret', 'password', 'authorization', 'api_key', 'key_hash'];

/** Paths that may hold credentials, up to three levels deep; pino replaces them before writing. */
const REDACT = [
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]),
  'req.headers["x-shopify-hmac-sha256"]', 'req.headers["x-hubspot-signature-v3"]', 'req.headers["x-hearth-signature"]',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'hearth' } }, destination);
}

/** Removes bearer tokens, api keys and secrets from text (vendor error bodies, URLs) before it is stored or logged. */
export function scrubSecrets(text: string): string {
  return text
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=!-]+/gi, '$1[redacted]')
    .replace(/((?:access_token|hapikey|api_key|apikey|client_secret|password|token)["']?\s*[=:]\s*["']?)[^"'&\s,}]+/gi, '$1[redacted]')
    .replace(/(\/\/[^:@/\s]+:)[^@/\s]+@/g, '$1[redacted]@');
}
