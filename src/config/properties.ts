/**
 * The Java `.properties` format, as `java.util.Properties.load` reads it and `Properties.store` writes it.
 * TorchServe's config.properties and its snapshot files are both in this format, so a snapshot written by
 * TorchServe must load here and ours must load in TorchServe.
 *
 * One deliberate difference: Java's `load(InputStream)` decodes bytes as ISO-8859-1; ortserve hands this
 * module UTF-8-decoded text. Files that stick to ASCII (which includes everything `formatProperties` writes,
 * since it escapes non-ASCII as `\uXXXX`) read the same either way.
 */
import { ConfigError } from './errors.js';

/** Whitespace in the properties grammar: space, tab and form feed (not newlines). */
function isBlank(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\f';
}

function isLineEnd(c: string): boolean {
  return c === '\n' || c === '\r';
}

/**
 * Splits the text into logical lines (Java's `LineReader`): leading whitespace of each natural line is
 * dropped, blank lines and `#`/`!` comment lines are skipped, and a line ending in an odd number of
 * backslashes continues on the next natural line (whose leading whitespace is dropped too).
 * A comment line never continues, whatever it ends with.
 */
function logicalLines(text: string): string[] {
  const out: string[] = [];
  const n = text.length;
  let i = 0;

  const skipBlanks = (): void => {
    while (i < n && isBlank(text[i]!)) i++;
  };
  /** Consumes one terminator: `\r\n`, `\r` or `\n`. */
  const skipLineEnd = (): void => {
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++; // a lone '\n', or the second half of '\r\n'
  };
  const readToLineEnd = (): string => {
    const start = i;
    while (i < n && !isLineEnd(text[i]!)) i++;
    return text.slice(start, i);
  };

  while (i < n) {
    skipBlanks();
    if (i >= n) break;
    const first = text[i]!;
    if (isLineEnd(first)) {
      skipLineEnd();
      continue;
    }
    if (first === '#' || first === '!') {
      readToLineEnd();
      skipLineEnd();
      continue;
    }
    let line = '';
    for (;;) {
      const segment = readToLineEnd();
      let backslashes = 0;
      for (let j = segment.length - 1; j >= 0 && segment[j] === '\\'; j--) backslashes++;
      if (backslashes % 2 === 0) {
        line += segment;
        skipLineEnd();
        break;
      }
      // Odd count: the last backslash escapes the line break, so the logical line goes on.
      line += segment.slice(0, -1);
      if (i >= n) break; // Java drops a backslash that ends the file.
      skipLineEnd();
      skipBlanks();
    }
    out.push(line);
  }
  return out;
}

const HEX = /^[0-9a-fA-F]{4}$/;

/** Resolves escapes (Java's `loadConvert`): `\t \n \r \f \uXXXX`; any other `\c` stands for `c`. */
function unescape(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; ) {
    const c = s[i++]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    if (i >= s.length) break; // cannot happen after logicalLines; kept for safety
    const e = s[i++]!;
    switch (e) {
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        const hex = s.slice(i, i + 4);
        if (!HEX.test(hex)) {
          throw new ConfigError(`Malformed \\uxxxx encoding in properties line: ${s}`);
        }
        out += String.fromCharCode(parseInt(hex, 16));
        i += 4;
        break;
      }
      default:
        out += e;
    }
  }
  return out;
}

/**
 * Splits one logical line into key and value (Java's `Properties.load0`): the key ends at the first
 * unescaped `=`, `:` or whitespace; then whitespace and at most one `=`/`:` are skipped. Trailing
 * whitespace of the value is kept, as Java keeps it.
 */
function splitLine(line: string): [string, string] {
  const n = line.length;
  let keyLen = 0;
  let valueStart = n;
  let hasSeparator = false;
  let precedingBackslash = false;
  while (keyLen < n) {
    const c = line[keyLen]!;
    if ((c === '=' || c === ':') && !precedingBackslash) {
      valueStart = keyLen + 1;
      hasSeparator = true;
      break;
    }
    if (isBlank(c) && !precedingBackslash) {
      valueStart = keyLen + 1;
      break;
    }
    precedingBackslash = c === '\\' ? !precedingBackslash : false;
    keyLen++;
  }
  while (valueStart < n) {
    const c = line[valueStart]!;
    if (!isBlank(c)) {
      if (!hasSeparator && (c === '=' || c === ':')) hasSeparator = true;
      else break;
    }
    valueStart++;
  }
  return [unescape(line.slice(0, keyLen)), unescape(line.slice(valueStart))];
}

/**
 * Parses `.properties` text. Entries keep the order in which keys first appear; a later duplicate
 * replaces the value (as `Properties.load` does). Throws ConfigError on a malformed `\uXXXX`.
 */
export function parseProperties(text: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const line of logicalLines(text)) {
    const [key, value] = splitLine(line);
    result.set(key, value);
  }
  return result;
}

function hex4(code: number): string {
  return code.toString(16).toUpperCase().padStart(4, '0');
}

/**
 * Escapes a key or value like Java's `Properties.saveConvert` with escapeUnicode=true: backslash, tab,
 * newline, carriage return and form feed get their escapes; `= : # !` are backslash-escaped; every space
 * in a key and a leading space in a value are escaped; any other character outside printable ASCII
 * becomes `\uXXXX` (per UTF-16 unit, upper-case hex, as Java writes it).
 */
function escape(s: string, isKey: boolean): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const code = s.charCodeAt(i);
    switch (c) {
      case '\\':
        out += '\\\\';
        break;
      case ' ':
        out += i === 0 || isKey ? '\\ ' : ' ';
        break;
      case '\t':
        out += '\\t';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\f':
        out += '\\f';
        break;
      case '=':
      case ':':
      case '#':
      case '!':
        out += '\\' + c;
        break;
      default:
        out += code < 0x20 || code > 0x7e ? '\\u' + hex4(code) : c;
    }
  }
  return out;
}

/**
 * One comment written like Java's `Properties.writeComments`: `#` prefix, non-ASCII as `\uXXXX`, and an
 * embedded line break starts a new comment line (unless the next line already starts with `#` or `!`).
 */
function formatComment(comment: string): string {
  const lines = comment.split(/\r\n|\r|\n/);
  return lines
    .map((line, index) => {
      let escaped = '';
      for (let i = 0; i < line.length; i++) {
        const code = line.charCodeAt(i);
        escaped += code > 0x7e ? '\\u' + hex4(code) : line[i]!;
      }
      const alreadyComment = index > 0 && (line.startsWith('#') || line.startsWith('!'));
      return (alreadyComment ? '' : '#') + escaped;
    })
    .join('\n');
}

/**
 * Writes `.properties` text: one `#` line per header comment, then `key=value` lines, each ending in
 * `\n`. The output is pure ASCII and `parseProperties(formatProperties(e, h))` gives back `e`.
 */
export function formatProperties(entries: Iterable<readonly [string, string]>, headerComments: string[]): string {
  let out = '';
  for (const comment of headerComments) out += formatComment(comment) + '\n';
  for (const [key, value] of entries) out += `${escape(key, true)}=${escape(value, false)}\n`;
  return out;
}
