/** Binds an app to a `http(s)://host:port` address and reports the address it really got (port 0 → a free port). */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { RequestListener } from 'node:http';
import type { ListenAddress, ServerConfig } from '../config/types.js';
import { ConfigError } from '../config/errors.js';
import { BadRequestException, RequestTimeoutException, ServeError } from '../errors.js';
import { rawErrorResponse } from './respond.js';

export interface Listener {
  server: http.Server;
  /** e.g. `http://127.0.0.1:8080`, with the port actually bound. */
  url: string;
}

/** Node's default limit on the request line plus headers (`--max-http-header-size`). */
const MAX_HEADER_SIZE = 16 * 1024;

/**
 * The connection limits (config `headers_timeout_ms`, `request_timeout_ms`, `keep_alive_timeout_ms`).
 * Node only looks for expired requests every `connectionsCheckingInterval` (30 s by default, which would
 * double a 30 s timeout); a quarter of the shortest timeout, at most 1 s, keeps the cut-off close to the
 * configured time for the cost of a walk over the open connections.
 */
function serverOptions(config: ServerConfig): http.ServerOptions {
  const limits = [config.headersTimeoutMs, config.requestTimeoutMs].filter((t) => t > 0);
  const interval = limits.length === 0 ? 30_000 : Math.max(10, Math.min(1000, Math.floor(Math.min(...limits) / 4)));
  return {
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    connectionsCheckingInterval: interval,
    maxHeaderSize: MAX_HEADER_SIZE,
    // TorchServe (Netty) serves an HTTP/1.1 request without a Host header; Node would answer a bare 400.
    requireHostHeader: false,
  };
}

function readPem(key: 'certificate_file' | 'private_key_file', file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`Cannot read ${key} ${file}: ${(err as Error).message}`);
  }
}

function createServer(handler: RequestListener, address: ListenAddress, config: ServerConfig): http.Server {
  const options = serverOptions(config);
  if (address.scheme === 'http') return http.createServer(options, handler);
  if (!config.certificateFile || !config.privateKeyFile) {
    const missing = [!config.certificateFile && 'certificate_file', !config.privateKeyFile && 'private_key_file'].filter(Boolean).join(' and ');
    const keystore = config.properties['keystore'] !== undefined ? ' (ortserve cannot read the Java keystore given by keystore=; convert it to PEM)' : '';
    throw new ConfigError(`${address.raw} is an https address: set ${missing} (PEM files) in config.properties${keystore}`);
  }
  const cert = readPem('certificate_file', config.certificateFile);
  const key = readPem('private_key_file', config.privateKeyFile);
  try {
    // Before the TLS handshake is over Node's HTTP timeouts do not run yet; the handshake has its own.
    const handshakeTimeout = config.headersTimeoutMs > 0 ? config.headersTimeoutMs : 120_000;
    return https.createServer({ ...options, cert, key, handshakeTimeout }, handler);
  } catch (err) {
    throw new ConfigError(
      `Cannot use certificate_file ${config.certificateFile} with private_key_file ${config.privateKeyFile}: ${(err as Error).message}`,
    );
  }
}

/** The in-flight response of a socket, where Node keeps it (its own default clientError handler reads it too). */
function pendingResponse(socket: Socket): http.ServerResponse | undefined {
  return (socket as Socket & { _httpMessage?: http.ServerResponse })._httpMessage;
}

/** What ortserve answers when Node's HTTP parser gives up on a connection, or null to just close it. */
function clientErrorAnswer(err: NodeJS.ErrnoException): ServeError | null {
  switch (err.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return null;
    case 'HPE_HEADER_OVERFLOW':
      // TorchServe (Netty, 4 KB request line, 8 KB headers) answers 400 "Invalid HTTP message.".
      return new ServeError(
        'RequestHeaderFieldsTooLargeException',
        431,
        `Request header fields too large: the request line and headers exceed ${MAX_HEADER_SIZE} bytes.`,
      );
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new RequestTimeoutException('Request timed out: the request was not received in time.');
    default:
      // Malformed HTTP: TorchServe's exact answer (spec §1.3).
      return new BadRequestException('Invalid HTTP message.');
  }
}

/**
 * Replaces Node's default `clientError` answer (a bare status line) with TorchServe's error JSON, then
 * closes the connection. Nothing is written if a response has already started on the socket.
 */
function onClientError(config: ServerConfig): (err: NodeJS.ErrnoException, socket: Socket) => void {
  const answered = new WeakSet<Socket>();
  return (err, socket) => {
    // Bytes still arriving after the answer may raise more parse errors: the answer stands, and
    // destroying now could reset the connection before the client has read it.
    if (answered.has(socket)) return;
    const answer = clientErrorAnswer(err);
    const pending = pendingResponse(socket);
    if (answer !== null && socket.writable && !pending?.headersSent) {
      answered.add(socket);
      // A request whose body stalled has a response object: the access log then shows the real status.
      if (pending) pending.statusCode = answer.status;
      socket.end(rawErrorResponse(answer, randomUUID(), config));
      // The client normally closes on our FIN; one that does not read its answer must not keep the socket.
      setTimeout(() => socket.destroy(), 2000).unref();
    } else {
      socket.destroy();
    }
  };
}

const LISTEN_BACKLOG = 4096;

export function listen(handler: RequestListener, address: ListenAddress, config: ServerConfig): Promise<Listener> {
  const server = createServer(handler, address, config);
  server.on('clientError', onClientError(config));
  // Requests with `Expect: 100-continue` go to the same listener, which sends "100 Continue" only when a
  // route reads the body (app.ts): a refused request is answered before its client sends the body.
  server.on('checkContinue', handler);
  // Beyond this many open connections Node closes each new one as soon as it is accepted.
  if (config.maxConnections > 0) server.maxConnections = config.maxConnections;
  const host = address.host.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // Node's default backlog (511) overflows under a burst of new connections while the event loop is
    // busy, and the kernel then drops SYNs (clients see connect timeouts); the kernel caps this at somaxconn.
    server.listen({ port: address.port, host, backlog: LISTEN_BACKLOG }, () => {
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
