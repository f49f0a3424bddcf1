/**
 * What can be checked of the README's commands without running them (that is `npm run test:readme`):
 * how blocks and markers are read, that every curl to the token-protected APIs sends a key, and that
 * the CLIs are used only after the install step that puts them on PATH.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { commandLines, inlineCommands, serverLine, shellBlocks } from './readme-blocks.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');
const DOCS = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

describe('README shell blocks: reading', () => {
  const md = [
    'Intro.',
    '',
    '```sh',
    'npm install && npm start   # in another terminal:',
    'curl http://127.0.0.1:8080/ping',
    '```',
    '',
    'prints',
    '',
    '```json',
    '{"status": "Healthy"}',
    '```',
    '',
    '<!-- not run by test: needs Docker -->',
    '```bash',
    'docker run --rm \\',
    '  -p 8080:8080 img',
    '```',
    '',
    '- a list item:',
    '',
    '  ```sh',
    '  npm start -- --enable-model-api &',
    '  ```',
    '',
    '```ts',
    'const x = 1;',
    '```',
  ].join('\n');

  it('finds sh and bash blocks (also inside list items), their skip markers and promised JSON', () => {
    const blocks = shellBlocks(md);
    assert.deepEqual(
      blocks.map((b) => [b.index, b.skip, b.expectedJson]),
      [
        [1, null, { status: 'Healthy' }],
        [2, 'needs Docker', undefined],
        [3, null, undefined],
      ],
    );
    assert.deepEqual(commandLines(blocks[1]!.script), ['docker run --rm -p 8080:8080 img']);
  });

  it('reads npm start lines as a server in another terminal', () => {
    assert.deepEqual(serverLine('npm install && npm start   # in another terminal:'), { before: 'npm install', command: 'npm start' });
    assert.deepEqual(serverLine('npm start -- --enable-model-api &'), { before: '', command: 'npm start -- --enable-model-api' });
    assert.deepEqual(serverLine('npm start'), { before: '', command: 'npm start' });
    assert.equal(serverLine('npm test'), null);
    assert.equal(serverLine('npm run start:other'), null);
  });
});

describe('README and docs commands', () => {
  it('every curl to the inference (8080) or management (8081) API sends a key', () => {
    const missing: string[] = [];
    for (const file of DOCS) {
      const md = read(file);
      const commands = [...shellBlocks(md).flatMap((b) => commandLines(b.script)), ...inlineCommands(md).map((c) => c.text)];
      for (const c of commands) {
        if (/^curl\b/.test(c) && /127\.0\.0\.1:808[01]\b/.test(c) && !/Authorization: Bearer \S/.test(c)) missing.push(`${file}: ${c}`);
      }
    }
    assert.deepEqual(missing, [], 'token authorization is on by default: these curls would get 400');
  });

  it('uses the ortserve commands only after the install step that puts them on PATH (npm link)', () => {
    const lines = shellBlocks(read('README.md'))
      .filter((b) => b.skip === null)
      .flatMap((b) => commandLines(b.script));
    const linked = lines.findIndex((l) => /\bnpm link\b/.test(l));
    const used = lines.findIndex((l) => /^ortserve(-archiver|-workflow-archiver|-migrate)?\s/.test(l.trim()));
    assert.ok(used === -1 || (linked !== -1 && linked < used), `first use: ${lines[used]}; npm link: ${lines[linked]}`);
  });

  it('marks few README blocks as not run, each with a reason', () => {
    const skipped = shellBlocks(read('README.md')).filter((b) => b.skip !== null);
    for (const b of skipped) assert.ok(b.skip!.length > 10, `block ${b.index} needs a reason`);
    assert.ok(skipped.length <= 3, skipped.map((b) => `${b.index}: ${b.skip}`).join('\n'));
  });
});
