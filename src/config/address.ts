/**
 * Listener addresses (`inference_address`, `management_address`, `metrics_address`), parsed like
 * TorchServe's `Connector.parse`.
 */
import { isIPv6 } from 'node:net';

import { ConfigError } from './errors.js';
import type { ListenAddress } from './types.js';

export type ListenerKind = 'inference' | 'management' | 'metrics';

/**
 * Ports used when the address has none. This is TorchServe's rule, not the well-known 8080/8081/8082:
 * `Connector.parse` gives an inference listener 80/443, management 8081/8444 and metrics 8082/8445
 * (http/https). Only the built-in default addresses carry 8080/8081/8082 explicitly.
 */
const DEFAULT_PORTS: Readonly<Record<ListenerKind, { http: number; https: number }>> = {
  inference: { http: 80, https: 443 },
  management: { http: 8081, https: 8444 },
  metrics: { http: 8082, https: 8445 },
};

/**
 * TorchServe's ADDRESS_PATTERN is `(https|http)://([^:^/]+)(:([0-9]+))?` (case-insensitive, full match).
 * ortserve also accepts a bracketed IPv6 host (`http://[::1]:8080`), which TorchServe's pattern rejects.
 */
const ADDRESS = /^(https?):\/\/(\[[^\]/\s]+\]|[^:^/[\]]+)(?::([0-9]+))?$/i;

/**
 * Parses `http(s)://host[:port]`. Port 0 is allowed (the OS picks a free port). `raw` is normalised to
 * `scheme://host:port` (lower-case scheme, explicit port, IPv6 host in brackets), so two listeners that
 * TorchServe's `Connector.equals` would consider the same socket get equal `raw` strings.
 */
export function parseListenAddress(value: string, kind: ListenerKind): ListenAddress {
  const text = value.trim();
  if (/^unix:/i.test(text)) {
    throw new ConfigError(`unix socket addresses are not supported by ortserve: ${kind}_address=${text}`);
  }
  const match = ADDRESS.exec(text);
  if (match === null) {
    throw new ConfigError(`Invalid binding address: ${text} (${kind}_address)`);
  }
  const scheme = match[1]!.toLowerCase() as 'http' | 'https';
  let host = match[2]!;
  const bracketed = host.startsWith('[');
  if (bracketed) {
    host = host.slice(1, -1);
    if (!isIPv6(host)) throw new ConfigError(`Invalid binding address: ${text} (${kind}_address): bad IPv6 host`);
  }
  let port: number;
  if (match[3] === undefined) {
    port = DEFAULT_PORTS[kind][scheme];
  } else {
    port = Number.parseInt(match[3], 10);
    if (port > 65535) throw new ConfigError(`Invalid port number: ${text} (${kind}_address)`);
  }
  const hostText = bracketed ? `[${host}]` : host;
  return { scheme, host, port, raw: `${scheme}://${hostText}:${port}` };
}
