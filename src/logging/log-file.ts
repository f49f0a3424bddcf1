/**
 * One appended log file behind a write stream: writes are buffered and never block the event loop, the
 * file is never truncated, and a failing disk turns the file off (one message on stderr) instead of
 * crashing the server. No rotation: use logrotate's `copytruncate` (see docs/logging.md).
 *
 * The lines written during one turn of the event loop go to the stream as one write, at the end of the
 * turn: the access log has a line per request, and a file write per line was the largest single cost of
 * the HTTP thread under load (issue 16, docs/benchmarks.md "Hot path").
 */
import { createWriteStream, type WriteStream } from 'node:fs';

export class LogFile {
  private stream: WriteStream | null;
  private failed = false;
  /** Lines written since the last flush; flushed by setImmediate, after this turn's other events. */
  private pending: string[] = [];
  private flushScheduled = false;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'a' });
    this.stream.on('error', (err) => {
      if (!this.failed) console.error(`ortserve: cannot write ${path}: ${err.message}; this log is off`);
      this.failed = true;
      this.stream = null;
    });
  }

  write(line: string): void {
    if (this.failed || !this.stream) return;
    this.pending.push(line);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const lines = this.pending;
    this.pending = [];
    if (lines.length > 0 && !this.failed) this.stream?.write(lines.join(''));
  }

  /** Flushes what is buffered and closes the file; later writes are dropped. */
  close(): Promise<void> {
    this.flush();
    const s = this.stream;
    this.stream = null;
    if (!s || this.failed) return Promise.resolve();
    return new Promise((resolve) => {
      s.once('error', () => resolve());
      s.end(() => resolve());
    });
  }
}
