/**
 * One appended log file behind a write stream: writes are buffered and never block the event loop, the
 * file is never truncated, and a failing disk turns the file off (one message on stderr) instead of
 * crashing the server. No rotation: use logrotate's `copytruncate` (see docs/logging.md).
 */
import { createWriteStream, type WriteStream } from 'node:fs';

export class LogFile {
  private stream: WriteStream | null;
  private failed = false;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'a' });
    this.stream.on('error', (err) => {
      if (!this.failed) console.error(`ortserve: cannot write ${path}: ${err.message}; this log is off`);
      this.failed = true;
      this.stream = null;
    });
  }

  write(line: string): void {
    if (!this.failed) this.stream?.write(line);
  }

  /** Flushes what is buffered and closes the file; later writes are dropped. */
  close(): Promise<void> {
    const s = this.stream;
    this.stream = null;
    if (!s || this.failed) return Promise.resolve();
    return new Promise((resolve) => {
      s.once('error', () => resolve());
      s.end(() => resolve());
    });
  }
}
