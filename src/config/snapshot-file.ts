/**
 * Snapshot files (spec §5.1): what TorchServe's FSSnapshotSerializer writes with `Properties.store(w,
 * "Saving snapshot")` into `$LOG_LOCATION/config/`. A snapshot is a complete config.properties: restoring
 * one is just loading it as the config file (see findLatestSnapshot in load-config.ts).
 */
import { formatProperties } from './properties.js';

export type SnapshotKind = 'startup' | 'snapshot' | 'shutdown';

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/**
 * `yyyyMMddHHmmssSSS-<kind>.cfg` in local time, like TorchServe's SimpleDateFormat. The fixed-width
 * prefix is what findLatestSnapshot orders by.
 */
export function snapshotFileName(date: Date, kind: SnapshotKind): string {
  const stamp =
    pad(date.getFullYear(), 4) +
    pad(date.getMonth() + 1) +
    pad(date.getDate()) +
    pad(date.getHours()) +
    pad(date.getMinutes()) +
    pad(date.getSeconds()) +
    pad(date.getMilliseconds(), 3);
  return `${stamp}-${kind}.cfg`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * Java's `Date.toString()` ("EEE MMM dd HH:mm:ss zzz yyyy", local time), which `Properties.store` writes
 * as its second comment line, e.g. `Tue Feb 13 10:21:05 UTC 2024`. The zone name comes from Intl and
 * may differ from Java's for some zones (`GMT+1` where Java writes `CET`); nothing parses this line.
 */
export function javaDateString(date: Date): string {
  const zone =
    new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' })
      .formatToParts(date)
      .find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  return (
    `${DAYS[date.getDay()]} ${MONTHS[date.getMonth()]} ${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${zone} ${date.getFullYear()}`
  );
}

/**
 * The text of a snapshot file: `#Saving snapshot`, the date comment, every property, and last
 * `model_snapshot=<json>` (any model_snapshot among `properties`, left from the snapshot the server was
 * restored from, is replaced). Values are escaped so that `parseProperties` gives them back unchanged.
 */
export function formatSnapshotFile(properties: Record<string, string>, modelSnapshotJson: string, date: Date): string {
  const entries: Array<[string, string]> = Object.entries(properties).filter(([key]) => key !== 'model_snapshot');
  entries.push(['model_snapshot', modelSnapshotJson]);
  return formatProperties(entries, ['Saving snapshot', javaDateString(date)]);
}
