/**
 * Issue 8: the Dockerfile linted in npm test (tools/deploy/dockerfile-lint.ts: dockerfile-utils plus a
 * documented subset of hadolint's rules and the image's own rules), and the lint shown to catch them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { dockerignored, lintDockerfile, parseDockerfile, readDockerignore } from '../../tools/deploy/dockerfile-lint.js';
import { REPO } from '../../tools/deploy/validate.js';

const dockerfile = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
const ignore = readDockerignore();

describe('Dockerfile', () => {
  it('has no lint finding', () => {
    assert.deepEqual(lintDockerfile(dockerfile, ignore), []);
  });

  it('builds in three stages; node_modules from npm ci --omit=dev, slimmed; runs as the base image\'s user node', () => {
    const ins = parseDockerfile(dockerfile);
    const froms = ins.filter((i) => i.keyword === 'FROM');
    assert.deepEqual(froms.map((f) => f.args), ['node:20-bookworm-slim AS build', 'node:20-bookworm-slim AS deps', 'node:20-bookworm-slim']);
    const deps = ins.slice(ins.indexOf(froms[1]!), ins.indexOf(froms[2]!));
    const final = ins.slice(ins.indexOf(froms[2]!));
    assert.ok(deps.some((i) => i.keyword === 'RUN' && /npm ci --omit=dev .*slim-node-modules\.sh/.test(i.args)));
    assert.ok(final.some((i) => i.keyword === 'COPY' && i.args === '--from=deps /app/node_modules ./node_modules'));
    assert.ok(!ins.some((i) => /npm prune/.test(i.args)));
    // Issue 19: the official base image already has `node` (uid 1000); creating another uid-1000 user failed.
    assert.ok(!ins.some((i) => i.keyword === 'RUN' && /useradd|adduser/.test(i.args)));
    assert.equal(final.filter((i) => i.keyword === 'USER').at(-1)?.args, 'node');
    assert.deepEqual(JSON.parse(final.find((i) => i.keyword === 'ENTRYPOINT')!.args), ['node', '/home/model-server/app/docker/entrypoint.mjs']);
  });

  it('copies the files the image runs: entrypoint, health check, config, protos', () => {
    const copies = parseDockerfile(dockerfile).filter((i) => i.keyword === 'COPY').map((i) => i.args).join('\n');
    for (const f of ['docker/entrypoint.mjs', 'docker/healthcheck.mjs', 'docker/config.properties', 'proto', 'package-lock.json']) {
      assert.ok(copies.includes(f), `${f} is not copied`);
    }
    assert.ok(!dockerignored(ignore, 'docker/entrypoint.mjs'));
    assert.ok(dockerignored(ignore, 'node_modules/x/index.js'));
    assert.ok(dockerignored(ignore, 'key_file.json'));
    assert.ok(dockerignored(ignore, 'a/b/ts_log.log'));
  });

  it('the lint catches the rules it documents', () => {
    const bad = [
      'FROM node:latest AS build',
      'RUN npm ci && npm prune --omit=dev',
      'FROM node',
      'ADD src /src',
      'RUN apt-get update && apt-get install -y curl | tee /x',
      'COPY --from=bild /a /b',
      'COPY missing-file ./',
      'CMD node x.js',
      'HEALTHCHEK CMD true',
    ].join('\n');
    const rules = new Set(lintDockerfile(bad, ignore).map((f) => f.rule));
    for (const r of ['DL3007', 'DL3006', 'DL3020', 'DL3008', 'DL3009', 'DL3015', 'DL4006', 'DL3022', 'DL3025', 'DL3002', 'DL3057', 'ORT001', 'ORT002', 'ORT004', 'ORT006']) {
      assert.ok(rules.has(r), `${r} not reported`);
    }
    assert.ok([...rules].some((r) => r.startsWith('dockerfile-utils:')), 'dockerfile-utils finds the unknown instruction');
  });
});
