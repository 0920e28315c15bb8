/**
 * jsforce sends every call through its transport with a 30-minute default timeout that Connection
 * methods give no way to change: the transport's options get ours (a silent Salesforce then fails
 * the call as transient instead of holding its batch).
 */
export function withTimeout(conn: unknown, ms: number): void {
  const t = (conn as { _transport?: { httpRequest: (req: unknown, opts?: object) => unknown } })._transport;
  if (!t) return;
  const send = t.httpRequest.bind(t);
  t.httpRequest = (req, opts = {}) => send(req, { timeout: ms, ...opts });
}
