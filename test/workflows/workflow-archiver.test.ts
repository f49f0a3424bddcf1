/** ortserve-workflow-archiver: torch-workflow-archiver's flags, layout, manifest and errors. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import AdmZip from 'adm-zip';
import { main } from '../../src/cli/workflow-archiver.js';

describe('ortserve-workflow-archiver', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ortserve-wfa-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const run = async (args: string[]) => {
    let out = '';
    let err = '';
    const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
  };
  writeFileSync(path.join(dir, 'wf.yaml'), 'dag:\n  pre: []\n');
  writeFileSync(path.join(dir, 'h.ts'), 'export function pre(d) { return d; }\n');
  writeFileSync(path.join(dir, 'extra.txt'), 'x');

  it('writes <name>.war with the files at the root and WAR-INF/MANIFEST.json', async () => {
    const r = await run(['--workflow-name', 'wf', '--spec-file', path.join(dir, 'wf.yaml'), '--handler', path.join(dir, 'h.ts'), '--extra-files', path.join(dir, 'extra.txt'), '--export-path', dir]);
    assert.equal(r.code, 0, r.err);
    const zip = new AdmZip(path.join(dir, 'wf.war'));
    assert.deepEqual(zip.getEntries().map((e) => e.entryName), ['wf.yaml', 'h.ts', 'extra.txt', 'WAR-INF/MANIFEST.json']);
    const manifest = JSON.parse(zip.readAsText('WAR-INF/MANIFEST.json'));
    assert.deepEqual(manifest.workflow, { workflowName: 'wf', specFile: 'wf.yaml', handler: 'h.ts' });
    assert.equal(manifest.archiverVersion, '0.2.15');
    assert.match(manifest.createdOn, /^\d\d\/\d\d\/\d{4} \d\d:\d\d:\d\d$/);
  });

  it('refuses to overwrite without -f, and overwrites with it', async () => {
    const args = ['--workflow-name', 'wf', '--spec-file', path.join(dir, 'wf.yaml'), '--export-path', dir];
    const r = await run(args);
    assert.equal(r.code, 1);
    assert.equal(r.err, `ERROR - ${path.join(dir, 'wf.war')} already exists.\nPlease specify --force/-f option to overwrite the workflow archive output file.\nSee -h/--help for more details.\n`);
    assert.equal((await run([...args, '-f'])).code, 0);
  });

  it('reports usage errors as argparse does and bad names as torch-workflow-archiver does', async () => {
    const r = await run(['--spec-file', 'x.yaml']);
    assert.equal(r.code, 2);
    assert.match(r.err, /error: the following arguments are required: --workflow-name\n$/);
    const bad = await run(['--workflow-name', 'bad name', '--spec-file', path.join(dir, 'wf.yaml'), '--export-path', dir]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^ERROR - Workflow name contains special characters\./);
    const missing = await run(['--workflow-name', 'w2', '--spec-file', path.join(dir, 'nope.yaml'), '--export-path', dir]);
    assert.equal(missing.err, `ERROR - File does not exist: ${path.join(dir, 'nope.yaml')}\n`);
    assert.equal((await run(['-h'])).code, 0);
  });
});
