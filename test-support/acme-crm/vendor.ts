import { createServer, type Server } from 'node:http';

/** A contact as the throwaway "Acme CRM" stores it. */
export interface AcmeContact {
  id: string;
  email: string;
  first: string | null;
  last: string | null;
  street: string | null;
  city: string | null;
  state: string | null;
  zip: string | null;
  country: string | null;
}

export interface AcmeVendor {
  url: string;
  contacts: Map<string, AcmeContact>;
  /** Address writes received (PUT /contacts/:id/address), in order. */
  writes: { id: string; body: Record<string, string | null> }[];
  close(): Promise<void>;
}

/**
 * The smallest CRM API a connector can be written against: list contacts in pages, find one by
 * e-mail, write its address. Loopback only; for the throwaway-connector test.
 */
export async function startAcmeVendor(): Promise<AcmeVendor> {
  const contacts = new Map<string, AcmeContact>();
  const writes: AcmeVendor['writes'] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://acme');
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const send = (status: number, json: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      const put = /^\/contacts\/([^/]+)\/address$/.exec(url.pathname);
      if (req.method === 'PUT' && put) {
        const c = contacts.get(put[1]!);
        if (!c) return send(404, { error: 'no such contact' });
        const b = JSON.parse(body) as Record<string, string | null>;
        writes.push({ id: c.id, body: b });
        Object.assign(c, {
          street: b.street ?? null,
          city: b.city ?? null,
          state: b.state ?? null,
          zip: b.zip ?? null,
          country: b.country ?? null,
        });
        return send(200, c);
      }
      if (req.method === 'GET' && url.pathname === '/contacts') {
        const all = [...contacts.values()].sort((a, b) => a.id.localeCompare(b.id));
        const email = url.searchParams.get('email');
        if (email) return send(200, { records: all.filter((c) => c.email === email), next: null });
        const from = Number(url.searchParams.get('cursor') ?? '0');
        const limit = Number(url.searchParams.get('limit') ?? '100');
        const page = all.slice(from, from + limit);
        return send(200, { records: page, next: from + limit < all.length ? String(from + limit) : null });
      }
      send(404, { error: 'no route' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    contacts,
    writes,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
