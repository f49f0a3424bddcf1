/**
 * The Dockerfile lint of `npm test` (test/deploy/dockerfile.test.ts); also `node dist/tools/deploy/dockerfile-lint.js
 * [Dockerfile]`, exit 1 on any finding.
 *
 * hadolint itself is a Haskell binary: it is neither a Debian package nor on npm. So the lint is two parts:
 * 1. dockerfile-utils (npm; the validator of the Docker language server behind VS Code's Dockerfile support):
 *    syntax and instruction arguments: unknown instructions, flags and their values, JSON arrays, duplicate
 *    CMD / ENTRYPOINT / HEALTHCHECK, relative WORKDIR, deprecated MAINTAINER, casing, empty continuation lines.
 * 2. The hadolint rules below, by their hadolint ids and meaning (only the Dockerfile rules, not the
 *    ShellCheck ones), and issue 8's rules for this image (ORT…).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import dockerfileUtils from 'dockerfile-utils';
import { REPO } from './validate.js';

export interface Finding {
  rule: string;
  line: number;
  message: string;
}

export interface Instruction {
  keyword: string;
  args: string;
  /** 1-based line of the instruction's first line. */
  line: number;
}

/** Logical instructions: comments dropped, continuation lines joined. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i]!;
    if (/^\s*(#|$)/.test(first)) continue;
    const start = i;
    let joined = first;
    while (/\\\s*$/.test(joined) && i + 1 < lines.length) {
      i++;
      const next = lines[i]!;
      if (/^\s*#/.test(next)) continue;
      joined = `${joined.replace(/\\\s*$/, '')} ${next.trim()}`;
    }
    const m = /^\s*(\S+)\s*(.*)$/.exec(joined)!;
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start + 1 });
  }
  return out;
}

/** The stages: each FROM and the instructions after it. */
function stages(ins: Instruction[]): Instruction[][] {
  const out: Instruction[][] = [];
  for (const i of ins) {
    if (i.keyword === 'FROM') out.push([i]);
    else out.at(-1)?.push(i);
  }
  return out;
}

/** `.dockerignore` patterns (Go filepath.Match plus `**`), matched against a path and its parents. */
export function dockerignored(patterns: string[], file: string): boolean {
  const toRegex = (p: string): RegExp =>
    new RegExp(
      `^${p
        .replace(/^\/+|\/+$/g, '')
        .split('**/')
        .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))
        .join('(?:.*/)?')}$`,
    );
  const parts = file.split('/');
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const re = toRegex(negate ? raw.slice(1) : raw);
    for (let n = 1; n <= parts.length; n++) {
      if (re.test(parts.slice(0, n).join('/'))) {
        ignored = !negate;
        break;
      }
    }
  }
  return ignored;
}

const isJsonArray = (s: string): boolean => {
  try {
    return Array.isArray(JSON.parse(s));
  } catch {
    return false;
  }
};

/** Flags of COPY/ADD and the source/destination words. */
function copyWords(args: string): { flags: string[]; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const rest = words.filter((w) => !w.startsWith('--'));
  return { flags, sources: rest.slice(0, -1), dest: rest.at(-1) ?? '' };
}

export function lintDockerfile(text: string, dockerignore: string[] = [], repo = REPO): Finding[] {
  const findings: Finding[] = [];
  const add = (rule: string, line: number, message: string): void => void findings.push({ rule, line, message });

  for (const d of dockerfileUtils.validate(text)) {
    add(`dockerfile-utils:${String(d.code ?? '')}`, d.range.start.line + 1, typeof d.message === 'string' ? d.message : d.message.value);
  }

  const ins = parseDockerfile(text);
  const aliases = new Set<string>();
  for (const stage of stages(ins)) {
    const from = stage[0]!;
    const [image = '', as, alias] = from.args.split(/\s+/).filter((w) => !w.startsWith('--'));
    if (!aliases.has(image) && image !== 'scratch') {
      const tag = image.includes('@') ? 'digest' : image.split('/').at(-1)!.split(':')[1];
      if (!tag) add('DL3006', from.line, `Always tag the version of an image explicitly: ${image}`);
      else if (tag === 'latest') add('DL3007', from.line, `Using latest is prone to errors: ${image}`);
    }
    if (as?.toUpperCase() === 'AS' && alias) aliases.add(alias);
    let workdir = false;
    let cmd = 0;
    let entrypoint = 0;
    let pipefail = false;
    for (const i of stage.slice(1)) {
      const a = i.args;
      switch (i.keyword) {
        case 'WORKDIR':
          workdir = true;
          if (!a.startsWith('/') && !a.startsWith('$')) add('DL3000', i.line, 'Use absolute WORKDIR');
          break;
        case 'MAINTAINER':
          add('DL4000', i.line, 'MAINTAINER is deprecated');
          break;
        case 'ADD':
          if (!/https?:\/\/|\.(tar|tgz|tar\.\w+)\b/.test(a)) add('DL3020', i.line, 'Use COPY instead of ADD for files and folders');
          break;
        case 'COPY': {
          const { flags, dest } = copyWords(a);
          const fromFlag = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
          if (fromFlag !== undefined && !aliases.has(fromFlag) && !/^\d+$/.test(fromFlag) && !fromFlag.includes(':')) {
            add('DL3022', i.line, `COPY --from should reference a previously defined FROM alias: ${fromFlag}`);
          }
          if (!workdir && !dest.startsWith('/') && !dest.startsWith('$')) add('DL3045', i.line, 'COPY to a relative destination without WORKDIR set');
          break;
        }
        case 'CMD':
          cmd++;
          if (!isJsonArray(a)) add('DL3025', i.line, 'Use arguments JSON notation for CMD and ENTRYPOINT arguments');
          if (cmd > 1) add('DL4003', i.line, 'Multiple CMD instructions found');
          break;
        case 'ENTRYPOINT':
          entrypoint++;
          if (!isJsonArray(a)) add('DL3025', i.line, 'Use arguments JSON notation for CMD and ENTRYPOINT arguments');
          if (entrypoint > 1) add('DL4004', i.line, 'Multiple ENTRYPOINT instructions found');
          break;
        case 'SHELL':
          pipefail = /pipefail/.test(a);
          break;
        case 'RUN': {
          const cmds = a.split(/&&|;|\|\|/).map((c) => c.trim());
          if (/\bsudo\b/.test(a)) add('DL3004', i.line, 'Do not use sudo');
          if (/(^|\s)apt\s/.test(a)) add('DL3027', i.line, 'Do not use apt as it is meant to be an end-user tool, use apt-get or apt-cache instead');
          if (/[^|]\|[^|]/.test(a) && !pipefail) add('DL4006', i.line, 'Set the SHELL option -o pipefail before RUN with a pipe in it');
          for (const c of cmds) {
            if (/^apt-get\s+(-\S+\s+)*install\b/.test(c)) {
              const pkgs = c.split(/\s+/).slice(2).filter((w) => !w.startsWith('-') && w !== 'install');
              if (pkgs.some((p) => !p.includes('='))) add('DL3008', i.line, 'Pin versions in apt-get install');
              if (!/--no-install-recommends/.test(c)) add('DL3015', i.line, 'Avoid additional packages by specifying --no-install-recommends');
              if (!/rm -rf \/var\/lib\/apt\/lists/.test(a)) add('DL3009', i.line, 'Delete the apt-get lists after installing something');
            }
            if (/^npm\s+(i|install|add)\s/.test(c)) {
              const pkgs = c.split(/\s+/).slice(2).filter((w) => !w.startsWith('-'));
              if (pkgs.some((p) => !/@[^/]+$|^[./]/.test(p.replace(/^@/, '')))) add('DL3016', i.line, 'Pin versions in npm');
            }
          }
          break;
        }
        default:
      }
    }
  }

  // issue 8's rules for ortserve's image (final stage)
  const last = stages(ins).at(-1) ?? [];
  const find = (k: string): Instruction[] => last.filter((i) => i.keyword === k);
  const lastLine = last[0]?.line ?? 1;
  const runs = find('RUN').map((i) => i.args);
  // Production dependencies come from `npm ci --omit=dev`, in the final stage or in the stage whose
  // node_modules the final stage copies (issue 19: that stage also drops other platforms' binaries).
  const prodInstall = (rs: string[]): boolean => rs.some((r) => /\bnpm ci\b[^&;]*--omit=dev/.test(r));
  const depsStage = stages(ins).find((st) => {
    const name = /\bAS\s+(\S+)/i.exec(st[0]!.args)?.[1];
    return name !== undefined && find('COPY').some((c) => c.args.includes(`--from=${name}`) && /node_modules/.test(c.args));
  });
  const depsRuns = (depsStage ?? []).filter((i) => i.keyword === 'RUN').map((i) => i.args);
  if (!prodInstall(runs) && !prodInstall(depsRuns)) {
    add('ORT001', lastLine, 'production dependencies must come from `npm ci --omit=dev` (final stage, or the stage it copies node_modules from)');
  }
  if (runs.some((r) => /\bnpm prune\b/.test(r)) || ins.some((i) => i.keyword === 'RUN' && /\bnpm prune\b/.test(i.args))) {
    add('ORT001', lastLine, 'no `npm prune`: the final stage installs production dependencies itself');
  }
  const user = find('USER').at(-1);
  if (!user || /^(root|0)(:|$)/.test(user.args)) add('DL3002', user?.line ?? lastLine, 'the final stage must run as a non-root USER');
  const ep = find('ENTRYPOINT').at(-1);
  if (!ep || !isJsonArray(ep.args) || !(JSON.parse(ep.args) as string[]).some((w) => w.endsWith('docker/entrypoint.mjs'))) {
    add('ORT002', ep?.line ?? lastLine, 'ENTRYPOINT must run docker/entrypoint.mjs (torchserve-style flags), in JSON form');
  } else if ((JSON.parse(ep.args) as string[])[0] !== 'node') {
    add('ORT002', ep.line, 'ENTRYPOINT must exec node directly, so that node is PID 1 and gets SIGTERM');
  }
  const hc = find('HEALTHCHECK').at(-1);
  if (!hc) add('DL3057', lastLine, 'HEALTHCHECK instruction missing');
  else if (!/healthcheck\.mjs|\/ping/.test(hc.args)) add('ORT003', hc.line, 'HEALTHCHECK must check /ping (docker/healthcheck.mjs)');
  if (!find('VOLUME').some((v) => /model-store/.test(v.args))) add('ORT004', lastLine, 'the model store must be a VOLUME');
  const stop = find('STOPSIGNAL').at(-1);
  if (stop && stop.args !== 'SIGTERM') add('ORT005', stop.line, 'ortserve drains on SIGTERM: keep STOPSIGNAL SIGTERM');

  // Every COPY source (from the build context) exists and is not excluded by .dockerignore.
  for (const i of ins.filter((x) => x.keyword === 'COPY' || x.keyword === 'ADD')) {
    const { flags, sources } = copyWords(i.args);
    if (flags.some((f) => f.startsWith('--from='))) continue;
    for (const s of sources) {
      if (!existsSync(path.join(repo, s))) add('ORT006', i.line, `COPY source ${s} does not exist`);
      else if (dockerignored(dockerignore, s)) add('ORT006', i.line, `COPY source ${s} is excluded by .dockerignore`);
    }
  }
  return findings.sort((a, b) => a.line - b.line);
}

export function readDockerignore(repo = REPO): string[] {
  return readFileSync(path.join(repo, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? path.join(REPO, 'Dockerfile');
  const findings = lintDockerfile(readFileSync(file, 'utf8'), readDockerignore());
  for (const f of findings) console.log(`${file}:${f.line} ${f.rule} ${f.message}`);
  console.log(findings.length ? `${findings.length} finding(s)` : 'no findings');
  process.exitCode = findings.length ? 1 : 0;
}
