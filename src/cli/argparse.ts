/**
 * The part of Python's argparse that torch-model-archiver and torch-workflow-archiver users see: usage and
 * help texts, long options with unique prefixes and `--opt=value`, clusters of short options, `choices`,
 * required options, and argparse's error messages (a UsageError; the caller prints it with the usage and
 * exits 2).
 */

export interface OptionSpec {
  long: string;
  short?: string;
  dest: string;
  metavar?: string;
  required?: boolean;
  flag?: boolean;
  choices?: readonly string[];
  help: string;
}

export type Parsed = Record<string, string | boolean | undefined>;

export class UsageError extends Error {}

const HELP_OPTION: OptionSpec = { long: '--help', short: '-h', dest: 'help', flag: true, help: 'show this help message and exit' };

const optionName = (o: OptionSpec): string => (o.short ? `${o.short}/${o.long}` : o.long);

const looksLikeOption = (arg: string): boolean => arg.startsWith('-') && arg !== '-' && !/^-\d/.test(arg);

export class ArgParser {
  private readonly all: readonly OptionSpec[];

  /** `options` in the tool's definition order, which argparse keeps in usage and error messages; -h/--help comes first. */
  constructor(
    private readonly prog: string,
    private readonly description: string,
    options: readonly OptionSpec[],
  ) {
    this.all = [HELP_OPTION, ...options];
  }

  usage(): string {
    const parts = this.all.map((o) => {
      const text = `${o.short ?? o.long}${o.flag ? '' : ` ${o.metavar}`}`;
      return o.required ? text : `[${text}]`;
    });
    const lines: string[] = [];
    let line = `usage: ${this.prog}`;
    for (const part of parts) {
      if (line.length + part.length + 1 > 78) {
        lines.push(line);
        line = ' '.repeat(`usage: ${this.prog}`.length);
      }
      line += ` ${part}`;
    }
    lines.push(line);
    return `${lines.join('\n')}\n`;
  }

  help(): string {
    const body = this.all.map((o) => {
      const names = [o.short, o.long].filter((n): n is string => n !== undefined);
      const head = `  ${names.map((n) => (o.flag ? n : `${n} ${o.metavar}`)).join(', ')}`;
      const text = o.help.split('\n').map((l) => `                        ${l}`).join('\n');
      return `${head}\n${text}`;
    });
    return `${this.usage()}\n${this.description}\n\noptions:\n${body.join('\n')}\n`;
  }

  /** The options given, by `dest`; `help: true` stops the required-option check, as argparse's --help does. */
  parse(argv: readonly string[]): Parsed {
    const parsed: Parsed = {};
    const extras: string[] = [];
    const setValue = (o: OptionSpec, value: string): void => {
      if (o.choices && !o.choices.includes(value)) {
        throw new UsageError(`argument ${optionName(o)}: invalid choice: '${value}' (choose from ${o.choices.map((c) => `'${c}'`).join(', ')})`);
      }
      parsed[o.dest] = value;
    };
    const takeValue = (o: OptionSpec, i: number): string => {
      const next = argv[i];
      if (next === undefined || looksLikeOption(next)) throw new UsageError(`argument ${optionName(o)}: expected one argument`);
      return next;
    };
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      if (arg === '--') {
        extras.push(...argv.slice(i + 1));
        break;
      }
      if (arg.startsWith('--')) {
        const eq = arg.indexOf('=');
        const o = this.findLong(eq >= 0 ? arg.slice(0, eq) : arg);
        if (o.flag) {
          if (eq >= 0) throw new UsageError(`argument ${optionName(o)}: ignored explicit argument '${arg.slice(eq + 1)}'`);
          parsed[o.dest] = true;
        } else {
          setValue(o, eq >= 0 ? arg.slice(eq + 1) : takeValue(o, ++i));
        }
      } else if (looksLikeOption(arg)) {
        // A cluster of short options: flags, then at most one option that takes the rest as its value.
        for (let j = 1; j < arg.length; j++) {
          const o = this.all.find((x) => x.short === `-${arg[j]}`);
          if (!o) throw new UsageError(`unrecognized arguments: ${arg}`);
          if (o.flag) {
            parsed[o.dest] = true;
            continue;
          }
          const rest = arg.slice(j + 1).replace(/^=/, '');
          setValue(o, rest !== '' ? rest : takeValue(o, ++i));
          break;
        }
      } else {
        extras.push(arg);
      }
    }
    if (parsed.help === true) return parsed;
    const missing = this.all.filter((o) => o.required && parsed[o.dest] === undefined).map(optionName);
    if (missing.length > 0) throw new UsageError(`the following arguments are required: ${missing.join(', ')}`);
    if (extras.length > 0) throw new UsageError(`unrecognized arguments: ${extras.join(' ')}`);
    return parsed;
  }

  /** argparse's long-option lookup: exact name, else a unique prefix. */
  private findLong(name: string): OptionSpec {
    const exact = this.all.find((o) => o.long === name);
    if (exact) return exact;
    const matches = this.all.filter((o) => o.long.startsWith(name));
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw new UsageError(`ambiguous option: ${name} could match ${matches.map((o) => o.long).join(', ')}`);
    throw new UsageError(`unrecognized arguments: ${name}`);
  }
}

/** A parsed option's string value, or undefined for a flag or an absent option. */
export const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
