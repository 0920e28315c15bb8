import { HearthError } from '../errors.ts';

const REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
/** What `${NAME}` reads as while parsing: a plain scalar, valid even inside a YAML flow map `{ a: ${X} }`. */
const MARK = /HEARTH_ENV_BEGIN__([A-Za-z_][A-Za-z0-9_]*?)__HEARTH_ENV_END/g;
const WHOLE = /^HEARTH_ENV_BEGIN__([A-Za-z_][A-Za-z0-9_]*?)__HEARTH_ENV_END$/;

/**
 * Before parsing, `${NAME}` becomes a marker the parser keeps as text (braces would open a YAML
 * flow map); nothing is substituted yet, so a value can never change how the file parses.
 */
export function markRefs(text: string): string {
  return text.replace(REF, (_m, name: string) => `HEARTH_ENV_BEGIN__${name}__HEARTH_ENV_END`);
}

/**
 * Substitutes `${NAME}` in the string values of an already parsed config (never in keys, never in
 * comments, which parsing dropped): a secret holding `#` or `: ` stays one value. A value that is
 * exactly one `${NAME}` whose text is a number or true/false takes that type, so `port: ${PORT}`
 * works. A missing variable is an error naming it, not an empty secret.
 */
export function substituteValues(value: unknown, env: Record<string, string | undefined>, file: string): unknown {
  if (typeof value === 'string') return substituteString(value, env, file);
  if (Array.isArray(value)) return value.map((v) => substituteValues(v, env, file));
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteValues(v, env, file)]));
  return value;
}

function substituteString(s: string, env: Record<string, string | undefined>, file: string): unknown {
  const whole = WHOLE.exec(s);
  if (whole) {
    const v = lookup(whole[1]!, env, file);
    if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
    if (v === 'true' || v === 'false') return v === 'true';
    return v;
  }
  return s.replace(MARK, (_m, name: string) => lookup(name, env, file));
}

function lookup(name: string, env: Record<string, string | undefined>, file: string): string {
  const value = env[name];
  if (value === undefined)
    throw new HearthError('invalid_config', `config file ${file}: environment variable ${name} is not set`);
  return value;
}
