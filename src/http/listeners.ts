/** Binds an app to a `http(s)://host:port` address and reports the address it really got (port 0 → a free port). */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';
import type { ListenAddress, ServerConfig } from '../config/types.js';
import { ConfigError } from '../config/errors.js';

export interface Listener {
  server: http.Server;
  /** e.g. `http://127.0.0.1:8080`, with the port actually bound. */
  url: string;
}

function createServer(handler: RequestListener, address: ListenAddress, config: ServerConfig): http.Server {
  if (address.scheme === 'http') return http.createServer(handler);
  if (!config.certificateFile || !config.privateKeyFile) {
    throw new ConfigError(`${address.raw} needs certificate_file and private_key_file (PEM) in config.properties`);
  }
  return https.createServer({ cert: readFileSync(config.certificateFile), key: readFileSync(config.privateKeyFile) }, handler);
}

export function listen(handler: RequestListener, address: ListenAddress, config: ServerConfig): Promise<Listener> {
  const server = createServer(handler, address, config);
  const host = address.host.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, host, () => {
      server.off('error', reject);
      const bound = server.address() as AddressInfo;
      const shownHost = host.includes(':') ? `[${host}]` : host;
      resolve({ server, url: `${address.scheme}://${shownHost}:${bound.port}` });
    });
  });
}

/** Stops accepting, lets in-flight requests finish for up to `graceMs`, then drops what is left. */
export async function closeListener(l: Listener, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => l.server.close(() => resolve()));
  // Keep-alive connections become idle as their last request finishes; sweep them as they do, or
  // close() waits for their keep-alive timeout.
  l.server.closeIdleConnections();
  const sweep = setInterval(() => l.server.closeIdleConnections(), 50);
  const timer = setTimeout(() => l.server.closeAllConnections(), graceMs);
  await closed;
  clearInterval(sweep);
  clearTimeout(timer);
}
