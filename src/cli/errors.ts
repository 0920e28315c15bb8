import { isHearthError } from '../errors.ts';

type SysError = Error & {
  code?: string;
  address?: string;
  port?: number;
  path?: string;
  hostname?: string;
  errors?: SysError[];
};

const FREE_PORT = 'stop the other process or pick another --port';

/**
 * One line a user can act on for the failures they cause (a wrong path, a server that is not
 * running, a port in use), instead of the raw ENOENT / ECONNREFUSED / EADDRINUSE text.
 */
export function userMessage(err: unknown): string {
  if (isHearthError(err)) return err.message;
  const e = err as SysError;
  // pg and net report a refused connection per address tried, inside an AggregateError.
  const sys = e.code ? e : (e.errors?.find((x) => x.code) ?? e);
  const where = sys.address ? `${sys.address}${sys.port ? `:${sys.port}` : ''}` : '';
  switch (sys.code) {
    case 'ENOENT':
      return `no such file or directory${sys.path ? `: ${sys.path}` : ''} (check the path)`;
    case 'EACCES':
      return `permission denied${sys.path ? `: ${sys.path}` : where ? ` on ${where}` : ''} (check permissions)`;
    case 'ECONNREFUSED':
      return `cannot connect to ${where || 'the server'}: connection refused (is it running? check --db / the URL)`;
    case 'ENOTFOUND':
      return `host not found${sys.hostname ? `: ${sys.hostname}` : ''} (check the URL)`;
    case 'EADDRINUSE':
      return `${where ? `address ${where}` : 'the port'} is already in use (${FREE_PORT})`;
    case '3D000':
      return `${e.message} (create it, or check --db / HEARTH_DB)`;
    default:
      return (e.message || String(err)).split('\n')[0]!;
  }
}
