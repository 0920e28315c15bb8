import { createHash } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { SUFFIXES } from './address/pub28-tables.ts';

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
  const sink = destination ?? pino.destination(1);
  // Every line passes the PII scrubber on its way out, whatever field or message carries it.
  const scrubbed: pino.DestinationStream = { write: (line: string) => sink.write(scrubPii(line)) };
  return pino(
    { level, redact: { paths, censor: '[redacted]' }, base: { service: 'hearth' }, serializers: { req: requestLine } },
    scrubbed,
  );
}

/** A request as logged (Fastify's request lines use this): method and path, never the query string. */
function requestLine(req: { method?: string; url?: string }): {
  method?: string | undefined;
  path?: string | undefined;
} {
  return { method: req.method, path: req.url?.split('?')[0] };
}

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
// E.164 (+13125551212) and North American written forms ((312) 555-1212, 312.555.1212); bare digit runs
// (epoch times, ids) are left alone.
const PHONE = /\+\d{8,15}\b|\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b/g;
let streetLine: RegExp | undefined;

/**
 * A house number, up to four words, a Pub. 28 street suffix written as a name ("Ave", "AVE"):
 * "12 Oak Avenue", "2200 N Lincoln Ave". Lower-case suffixes are left alone ("3 jobs in 1 run").
 */
function streetPattern(): RegExp {
  const suffixes = Object.keys(SUFFIXES).flatMap((s) => [s, s[0] + s.slice(1).toLowerCase()]);
  streetLine ??= new RegExp(
    `\\b\\d{1,6}[A-Za-z]?(?:\\s+[A-Za-z0-9.'-]+){0,4}?\\s+(?:${suffixes.join('|')})\\b\\.?`,
    'g',
  );
  return streetLine;
}

/** A short stable hash, so the same person can be followed across lines without being named. */
function tag(kind: string, value: string): string {
  return `[${kind}:${createHash('sha256').update(value.toLowerCase()).digest('hex').slice(0, 10)}]`;
}

/**
 * Removes personal data from text bound for a log or an error column: e-mails become a hash tag
 * (`[email:3f2a…]`), phones `[phone]`, street lines `[street]`. Vendor error texts name the
 * e-mail they could not find; request URLs carry `?email=`.
 */
export function scrubPii(text: string): string {
  return text
    .replace(EMAIL, (m) => tag('email', m))
    .replace(PHONE, '[phone]')
    .replace(streetPattern(), '[street]');
}

/**
 * Removes bearer tokens, api keys and secrets, and personal data (`scrubPii`), from text (vendor
 * error bodies, URLs) before it is stored or logged.
 */
export function scrubSecrets(text: string): string {
  return scrubPii(text)
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=!-]+/gi, '$1[redacted]')
    .replace(
      /((?:access_token|hapikey|api_key|apikey|client_secret|password|token)["']?\s*[=:]\s*["']?)[^"'&\s,}]+/gi,
      '$1[redacted]',
    )
    .replace(/(\/\/[^:@/\s]+:)[^@/\s]+@/g, '$1[redacted]@');
}
