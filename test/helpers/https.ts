// One HTTPS request to the van's tablet page server as a test client sends it (a tablet, a
// guesser, a misbehaving client): Basic auth, a body, the CA to trust (none: accept any, for tests
// of the server's own refusals), a local address (the server throttles per address). Every test
// of the page's API uses this one function instead of its own copy.
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';

export interface HttpsResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpsCall {
  port: number;
  path: string;
  method?: string;
  /** "user:password" for Basic auth. */
  auth?: string;
  /** The CA that signed the page's certificate; absent: the certificate is not checked. */
  ca?: Buffer;
  body?: Buffer | string;
  contentType?: string;
  localAddress?: string;
}

export function httpsRequest(c: HttpsCall): Promise<HttpsResult> {
  const headers: Record<string, string | number> = {};
  if (c.auth !== undefined) headers.Authorization = `Basic ${Buffer.from(c.auth).toString('base64')}`;
  if (c.body !== undefined) {
    headers['Content-Type'] = c.contentType ?? 'application/json';
    headers['Content-Length'] = Buffer.byteLength(c.body);
  }
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: c.port, path: c.path, method: c.method ?? (c.body !== undefined ? 'POST' : 'GET'), headers, agent: false, localAddress: c.localAddress ?? '127.0.0.1', ...(c.ca ? { ca: c.ca } : { rejectUnauthorized: false }) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(c.body);
  });
}
