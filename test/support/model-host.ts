/**
 * A loopback HTTP server standing in for a remote model host in the allowed_urls tests: it serves fixed
 * files, answers `…/r/<base64url>` with a 302 to the decoded location (so a test can build chains of
 * redirects), and logs every request it receives exactly as it arrived (Host header and raw target),
 * so that a test can check that nothing outside the allowed pattern was ever asked for.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ModelHost {
  /** `http://127.0.0.1:<port>` */
  base: string;
  port: number;
  /** Every request, as `http://<Host header><raw request target>`, in arrival order. */
  requested: string[];
  /** Bodies by raw request target (e.g. `/models/good.mar`); anything else is a 404. */
  files: Map<string, Buffer>;
  close(): Promise<void>;
}

/** The request target that makes the host redirect to `location`. */
export function redirectPath(prefix: string, location: string): string {
  return `${prefix}/r/${Buffer.from(location).toString('base64url')}`;
}

export async function startModelHost(files: Record<string, Buffer | string> = {}): Promise<ModelHost> {
  const requested: string[] = [];
  const served = new Map(Object.entries(files).map(([k, v]) => [k, Buffer.from(v)]));
  const server = http.createServer((req, res) => {
    const target = req.url ?? '';
    requested.push(`http://${req.headers.host ?? ''}${target}`);
    const redirect = /\/r\/([A-Za-z0-9_-]*)$/.exec(target);
    if (redirect) {
      res.writeHead(302, { location: Buffer.from(redirect[1]!, 'base64url').toString() }).end();
      return;
    }
    const body = served.get(target);
    if (body === undefined) res.writeHead(404).end('not here');
    else res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    requested,
    files: served,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * The path a lenient server could take a request target to mean: percent-decoded until stable, with
 * backslashes as slashes and dot segments resolved. A target is safe for a prefix only if this form,
 * too, stays under the prefix.
 */
export function mostDecodedPath(target: string): string {
  let p = target.split('?')[0]!;
  for (let i = 0; i < 5; i++) {
    let next: string;
    try {
      next = decodeURIComponent(p);
    } catch {
      next = p.replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
    }
    if (next === p) break;
    p = next;
  }
  const out: string[] = [];
  for (const seg of p.replace(/\\/g, '/').split('/')) {
    if (seg === '..') out.pop();
    else if (seg !== '.' && seg !== '') out.push(seg);
  }
  return `/${out.join('/')}`;
}
