/**
 * The line formats of the three logs. Text lines follow TorchServe's log4j2.xml patterns:
 * - ts_log.log and model_log.log: `%d{ISO8601} [%-5p] %t %c - %m%n`
 * - access_log.log: `%d{ISO8601} - %m%n`, the message being `/<ip>:<port> "<METHOD> <path> HTTP/1.1" <status> <ms>`
 * JSON lines (`log_format=json`) carry the same facts as fields, one object per line.
 */

export type LogFormat = 'text' | 'json';
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** One line of ts_log.log or model_log.log. */
export interface LogEvent {
  time: Date;
  level: LogLevel;
  /** log4j's `%t`: `main` for the server, `W-<port>-<model>_<version>-stdout|stderr` for a worker's output. */
  thread: string;
  /** log4j's `%c`: `ortserve` for the server, `MODEL_LOG` for handler output (TorchServe's logger names). */
  logger: string;
  message: string;
}

/** One line of access_log.log. */
export interface AccessEvent {
  time: Date;
  /** `/127.0.0.1:54321`, as Netty prints a socket address. */
  remote: string;
  method: string;
  /** The request path without its query string. */
  path: string;
  /** `HTTP/1.1`. */
  protocol: string;
  status: number;
  durationMs: number;
  requestId: string | null;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** log4j2's `%d{ISO8601}`: local time, `yyyy-MM-dd'T'HH:mm:ss,SSS`. */
export function log4jTimestamp(d: Date): string {
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())},${pad(d.getMilliseconds(), 3)}`
  );
}

/** Control characters would let a client or a handler forge log lines: they are escaped. */
export function escapeControl(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === '\t' ? c : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

export function formatEvent(e: LogEvent, format: LogFormat): string {
  if (format === 'json') {
    return JSON.stringify({ time: e.time.toISOString(), level: e.level, thread: e.thread, logger: e.logger, message: e.message }) + '\n';
  }
  return `${log4jTimestamp(e.time)} [${e.level.padEnd(5)}] ${e.thread} ${e.logger} - ${escapeControl(e.message)}\n`;
}

export function formatAccess(e: AccessEvent, format: LogFormat): string {
  if (format === 'json') {
    return (
      JSON.stringify({
        time: e.time.toISOString(),
        level: 'INFO',
        logger: 'ACCESS_LOG',
        remote: e.remote,
        method: e.method,
        path: e.path,
        protocol: e.protocol,
        status: e.status,
        duration_ms: Math.round(e.durationMs * 1000) / 1000,
        request_id: e.requestId,
      }) + '\n'
    );
  }
  // TorchServe prints whole milliseconds.
  const request = escapeControl(`${e.method} ${e.path} ${e.protocol}`).replace(/"/g, '%22');
  return `${log4jTimestamp(e.time)} - ${e.remote} "${request}" ${e.status} ${Math.round(e.durationMs)}\n`;
}
