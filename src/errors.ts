/**
 * The one error type of Hearth. Every failure that reaches a user carries a code from
 * `ERROR_CODES`; the HTTP layer maps the code to a status and the CLI prints one line.
 */
export const ERROR_CODES = {
  bad_request: { status: 400, doc: 'The request body or query is malformed or misses a required field.' },
  invalid_config: { status: 400, doc: 'The configuration file or flags are invalid.' },
  invalid_input: { status: 400, doc: 'A CLI input file or argument is invalid.' },
  unauthorized: { status: 401, doc: 'Missing or unknown API key, or a webhook signature that does not verify.' },
  forbidden: { status: 403, doc: 'The API key is valid but its role may not do this.' },
  not_found: { status: 404, doc: 'The resource (customer, job, connector...) does not exist.' },
  conflict: { status: 409, doc: 'The request conflicts with the current state (e.g. a job that is not retryable).' },
  payload_too_large: { status: 413, doc: 'The request body exceeds the configured limit.' },
  unsupported_media_type: { status: 415, doc: 'The request body is not JSON.' },
  rate_limited: { status: 429, doc: 'Too many requests for this API key; retry after `Retry-After` seconds.' },
  connector_error: { status: 502, doc: 'An external system failed; see `kind` for retry semantics.' },
  not_ready: { status: 503, doc: 'The service cannot serve yet (database unreachable, migrations pending).' },
  internal: { status: 500, doc: 'An unexpected failure; the log has the details.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class HearthError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'HearthError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

export function isHearthError(err: unknown): err is HearthError {
  return err instanceof HearthError;
}

/** The public JSON shape of an error (snake_case, stable). */
export function errorBody(err: HearthError): {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
} {
  return { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } };
}
