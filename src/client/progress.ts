/**
 * A progress bar on stderr (cli-progress) while requests run, only when stderr is a terminal: piped
 * or redirected output (CI logs, tests) stays free of control sequences.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  tick(): void;
  stop(): void;
}

const NO_PROGRESS: Progress = { tick: () => undefined, stop: () => undefined };

export function startProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY || total === 0) return NO_PROGRESS;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percentage}% | {value}/{total} rows | {duration_formatted} elapsed, ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  let done = 0;
  return {
    tick: () => bar.update(++done),
    stop: () => bar.stop(),
  };
}
