import http from 'node:http';
import https from 'node:https';
import type { FetchLike } from '../common/http.ts';

/** What is kept of an answer's body: enough for an error message (the connector keeps 500 characters). */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * Posts over node:http with kept-alive connections (one agent per connector): a subscriber receives
 * a stream of small posts, and a new connection per post (or the WHATWG fetch machinery around
 * each) cost Hearth more CPU than the post itself. The answer's body is read to the end (up to
 * 64 KiB kept) so its socket goes back to the pool. A post that fails because the kept socket was
 * closed by the receiver meanwhile (reset on reuse) is sent once more on a fresh connection: the
 * request never reached the receiver's application.
 */
export function keepAliveFetch(): FetchLike {
  const agents = {
    'http:': new http.Agent({ keepAlive: true }),
    'https:': new https.Agent({ keepAlive: true }),
  };
  const post: FetchLike = (url, init) => send(agents, url, init, true);
  return post;
}

type Answer = Awaited<ReturnType<FetchLike>>;

function send(
  agents: Record<'http:' | 'https:', http.Agent>,
  url: string,
  init: Parameters<FetchLike>[1],
  retryStale: boolean,
): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    if (!secure && target.protocol !== 'http:') {
      reject(new Error(`unsupported protocol ${target.protocol}`));
      return;
    }
    const headers: Record<string, string | number> = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = Buffer.byteLength(init.body);
    const options = {
      method: init.method,
      headers,
      agent: agents[secure ? 'https:' : 'http:'],
      ...(init.signal ? { signal: init.signal } : {}),
    };
    const answer = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on('data', (c: Buffer) => {
        if (kept >= MAX_BODY_BYTES) return;
        chunks.push(c);
        kept += c.length;
      });
      res.on('error', reject);
      res.on('close', () => {
        if (!res.complete) reject(new Error('the answer was cut off'));
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: {
            get: (name) => {
              const v = res.headers[name.toLowerCase()];
              return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
            },
          },
          text: () => Promise.resolve(text),
        });
      });
    };
    const req = secure ? https.request(target, options, answer) : http.request(target, options, answer);
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (retryStale && req.reusedSocket && err.code === 'ECONNRESET' && !init.signal?.aborted)
        send(agents, url, init, false).then(resolve, reject);
      else reject(err);
    });
    req.end(init.body);
  });
}
