/**
 * The logs of one running server under LOG_LOCATION, with TorchServe's file names (its log4j2.xml):
 * - `ts_log.log`: the server's own lines (what `startServer`'s `log()` prints) and, as in TorchServe
 *   where MODEL_LOG is additive to the root logger, the handlers' output too;
 * - `model_log.log`: every line the worker threads print (console.log → INFO, console.error → WARN);
 * - `access_log.log`: one line per HTTP request on every listener, when its response is over.
 * `model_metrics.log` and `ts_metrics.log` belong to the metrics (src/metrics).
 */
import { mkdirSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import path from 'node:path';
import { formatAccess, formatEvent, type AccessEvent, type LogFormat, type LogLevel } from './format.js';
import { LogFile } from './log-file.js';
import { pipeWorkerOutput, type WorkerOutput } from './worker-output.js';

export interface ServerLogsOptions {
  format: LogFormat;
  /** Where model output is echoed besides the files (the console, as before); null: files only. */
  echo?: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } | null;
}

export class ServerLogs {
  readonly format: LogFormat;
  private readonly tsLog: LogFile | null;
  private readonly modelLog: LogFile | null;
  private readonly accessLog: LogFile | null;
  private readonly echo: ServerLogsOptions['echo'];
  /** Worker output streams still being read: close() waits for their last lines. */
  private readonly readers = new Set<Promise<void>>();
  private closed: Promise<void> | null = null;

  constructor(
    readonly dir: string,
    opts: ServerLogsOptions,
  ) {
    this.format = opts.format;
    this.echo = opts.echo === undefined ? { stdout: process.stdout, stderr: process.stderr } : opts.echo;
    let ok = true;
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      ok = false;
      console.error(`ortserve: cannot create the log directory ${dir}: ${(err as Error).message}; logging to files is off`);
    }
    this.tsLog = ok ? new LogFile(path.join(dir, 'ts_log.log')) : null;
    this.modelLog = ok ? new LogFile(path.join(dir, 'model_log.log')) : null;
    this.accessLog = ok ? new LogFile(path.join(dir, 'access_log.log')) : null;
  }

  /** A line of the server log (ts_log.log). The caller prints it on the console as it always did. */
  server(message: string, level: LogLevel = 'INFO', thread = 'main'): void {
    this.tsLog?.write(formatEvent({ time: new Date(), level, thread, logger: 'ortserve', message }, this.format));
  }

  /** One line a worker printed; `thread` is `W-<port>-<model>_<version>`. */
  model(thread: string, stream: 'stdout' | 'stderr', line: string): void {
    const event = { time: new Date(), level: stream === 'stderr' ? 'WARN' : 'INFO', thread: `${thread}-${stream}`, logger: 'MODEL_LOG', message: line } as const;
    const text = formatEvent(event, this.format);
    this.modelLog?.write(text);
    this.tsLog?.write(text);
    this.echo?.[stream].write(line + '\n');
  }

  /** Registers a worker output reader that close() must wait for. */
  track(reader: Promise<void>): void {
    this.readers.add(reader);
    void reader.finally(() => this.readers.delete(reader));
  }

  /** Where the worker threads of this server send their stdout/stderr (ModelManager passes it down). */
  readonly workerOutput: WorkerOutput = (thread, name) => pipeWorkerOutput(thread, name, this);

  /**
   * Wraps a listener: every request gets one access line when its response is over
   * (finished or aborted: 'close'). Only the remote address, method, path without the query, protocol,
   * status and duration are logged: never headers (Authorization), tokens or bodies.
   */
  wrapListener(listener: RequestListener): RequestListener {
    return (req, res) => {
      const start = performance.now();
      const time = new Date();
      const remote = `/${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`;
      res.once('close', () => {
        const url = req.url ?? '/';
        const q = url.indexOf('?');
        const requestId = res.getHeader('x-request-id');
        this.access({
          time,
          remote,
          method: req.method ?? 'GET',
          path: q < 0 ? url : url.slice(0, q),
          protocol: `HTTP/${req.httpVersion}`,
          status: res.statusCode,
          durationMs: performance.now() - start,
          requestId: typeof requestId === 'string' ? requestId : null,
        });
      });
      listener(req, res);
    };
  }

  /** One line of access_log.log (the HTTP listeners' through wrapListener, gRPC calls' from their interceptor). */
  access(event: AccessEvent): void {
    this.accessLog?.write(formatAccess(event, this.format));
  }

  /** Waits (up to `graceMs`) for the workers' last lines, then flushes and closes the files. Idempotent. */
  close(graceMs = 2000): Promise<void> {
    this.closed ??= (async () => {
      if (this.readers.size > 0) {
        await Promise.race([Promise.all(this.readers), new Promise((r) => setTimeout(r, graceMs).unref())]);
      }
      await Promise.all([this.tsLog?.close(), this.modelLog?.close(), this.accessLog?.close()]);
    })();
    return this.closed;
  }
}
