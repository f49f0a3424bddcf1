/**
 * The `ortserve` command (spec §11) as a user runs it: real processes, real files, loopback port 0.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseServerArgs, UsageError } from '../../src/cli/server-args.js';
import { writeProbeMar } from '../support/archives.js';
import { auth, boundUrls, cleanupAll, isAlive, makeCliEnv, request, runCli, startForeground } from '../support/cli.js';

after(cleanupAll);

const PACKAGE = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { version: string };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('ortserve arguments', () => {
  it('-v and --version print the version and start nothing', async () => {
    const e = makeCliEnv();
    for (const flag of ['-v', '--version']) {
      const r = await runCli(e, [flag]);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, `ortserve Version is ${PACKAGE.version}\n`);
      assert.equal(r.stderr, '');
    }
    assert.equal(existsSync(e.pidFile), false);
  });

  it('--help prints the usage and every option', async () => {
    const r = await runCli(makeCliEnv(), ['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^usage: ortserve \[-h\] \[-v \| --start \| --stop\]/);
    for (const flag of ['--ts-config', '--model-store', '--workflow-store', '--models', '--log-config', '--foreground', '--ncs', '--dt', '--enable-model-api']) {
      assert.ok(r.stdout.includes(flag), `help mentions ${flag}`);
    }
  });

  it('an unknown flag exits 2 with the usage and an argparse error on stderr', async () => {
    const e = makeCliEnv();
    const r = await runCli(e, ['--start', '--bogus', 'x', '--model-store', 'model-store']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^usage: ortserve \[-h\]/);
    assert.ok(r.stderr.endsWith('\nortserve: error: unrecognized arguments: --bogus x\n'), r.stderr);
    assert.equal(existsSync(e.pidFile), false);

    const both = await runCli(e, ['--start', '--stop']);
    assert.equal(both.code, 2);
    assert.ok(both.stderr.endsWith('ortserve: error: argument --stop: not allowed with argument --start\n'), both.stderr);
  });

  it('parses like argparse', () => {
    assert.deepEqual(parseServerArgs(['--start', '--models', 'a=a.mar', 'b.mar', '--fore', '--ncs', '--dt']), {
      start: true,
      stop: false,
      foreground: true,
      version: false,
      help: false,
      noConfigSnapshots: true,
      disableTokenAuth: true,
      enableModelApi: false,
      models: ['a=a.mar', 'b.mar'],
    });
    // A repeated option keeps its last value (nargs='+' included); --opt=value works.
    const args = parseServerArgs(['--models', 'a.mar', '--models=b.mar', '--model-store=s1', '--model-store', 's2']);
    assert.deepEqual(args.models, ['b.mar']);
    assert.equal(args.modelStore, 's2');
    const error = (argv: string[]): string => {
      try {
        parseServerArgs(argv);
      } catch (err) {
        assert.ok(err instanceof UsageError);
        return err.message;
      }
      assert.fail(`no error for ${argv.join(' ')}`);
    };
    assert.equal(error(['--models=a.mar', 'b.mar']), 'unrecognized arguments: b.mar');
    assert.equal(error(['--ts-config']), 'argument --ts-config: expected one argument');
    assert.equal(error(['--ts-config', '--start']), 'argument --ts-config: expected one argument');
    assert.equal(error(['--models', '--start']), 'argument --models: expected at least one argument');
    assert.equal(error(['-v', '--start']), 'argument --start: not allowed with argument -v/--version');
    assert.equal(error(['--mo', 'x']), 'ambiguous option: --mo could match --model-store, --models');
    assert.equal(error(['--foreground=yes']), "argument --foreground: ignored explicit argument 'yes'");
    assert.equal(parseServerArgs(['--bogus', '-h']).help, true);
  });
});

describe('ortserve --start checks, in the launcher words', () => {
  it('needs a model store, an existing one, and an existing --ts-config', async () => {
    const e = makeCliEnv();
    const cases: Array<[string[], string]> = [
      [['--start'], 'Missing mandatory parameter --model-store\n'],
      [['--start', '--model-store', 'nope'], '--model-store directory not found: nope\n'],
      [['--start', '--model-store', 'model-store', '--ts-config', 'missing.properties'], '--ts-config file not found: missing.properties\n'],
      [['--start', '--model-store', 'model-store', '--workflow-store', 'wf'], '--workflow-store directory not found: wf\n'],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(e, args);
      assert.equal(r.stdout, message, args.join(' '));
      assert.equal(r.code, 1, args.join(' '));
    }
    assert.equal(existsSync(e.pidFile), false);
    assert.equal(existsSync(path.join(e.cwd, 'key_file.json')), false);
  });
});

describe('ortserve with a stale pid file or a server that cannot start', () => {
  it('--stop removes a pid file whose process is gone', async () => {
    const e = makeCliEnv();
    writeFileSync(e.pidFile, String(spawnSync(process.execPath, ['-e', '']).pid));
    const r = await runCli(e, ['--stop']);
    assert.equal(r.stdout, 'Removing orphan pid file.\nortserve is not currently running.\n');
    assert.equal(r.code, 0);
    assert.equal(existsSync(e.pidFile), false);
  });

  it('--start reports why the background server died, with this attempt’s output only', async (t) => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    t.after(() => busy.close());
    const port = (busy.address() as net.AddressInfo).port;
    const e = makeCliEnv({ inference_address: `http://127.0.0.1:${port}` });
    writeFileSync(path.join(e.logs, 'ortserve.log'), 'OUTPUT OF AN EARLIER RUN\n');
    const r = await runCli(e, ['--start', '--model-store', 'model-store', '--ts-config', 'config.properties']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /Failed to start ortserve: .*EADDRINUSE/);
    assert.ok(!r.stdout.includes('EARLIER RUN'), r.stdout);
    assert.equal(existsSync(e.pidFile), false);
    assert.equal(existsSync(path.join(e.cwd, 'key_file.json')), false);
  });
});

describe('ortserve --start in the background, then --stop', () => {
  const e = makeCliEnv();
  writeProbeMar(e.modelStore, { name: 'probe-model', fileName: 'probe.mar' });
  let urls: { inferenceUrl: string; managementUrl: string };
  let pid: number;

  it('returns once the server listens: /ping answers at once', async () => {
    const r = await runCli(e, ['--start', '--model-store', 'model-store', '--ts-config', 'config.properties', '--models', 'p=probe.mar']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Model server started\.\n$/);
    urls = boundUrls(r.stdout);
    assert.match(urls.inferenceUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(urls.managementUrl, /^http:\/\/127\.0\.0\.2:\d+$/);
    const ping = await request(`${urls.inferenceUrl}/ping`, { headers: auth(e, 'inference') });
    assert.equal(ping.status, 200);
    assert.deepEqual(ping.json(), { status: 'Healthy' });
    pid = Number.parseInt(readFileSync(e.pidFile, 'utf8'), 10);
    assert.ok(isAlive(pid));
    assert.notEqual(pid, process.pid);
  });

  it('loads --models name=file.mar under that name, with token auth on and the model API off', async () => {
    const noToken = await request(`${urls.inferenceUrl}/ping`);
    assert.equal(noToken.status, 400);
    assert.equal(noToken.json<{ type: string }>().type, 'InvalidKeyException');
    const echo = await request(`${urls.inferenceUrl}/predictions/p`, { method: 'POST', headers: auth(e, 'inference'), body: 'hello' });
    assert.equal(echo.status, 200);
    assert.equal(echo.text, 'hello');
    const list = await request(`${urls.managementUrl}/models`, { headers: auth(e, 'management') });
    assert.deepEqual(list.json(), { models: [{ modelName: 'p', modelUrl: 'probe.mar' }] });
    const register = await request(`${urls.managementUrl}/models?url=probe.mar&model_name=q`, { method: 'POST', headers: auth(e, 'management') });
    assert.equal(register.status, 405);
    assert.equal(register.json<{ type: string }>().type, 'MethodNotAllowedException');
  });

  it('refuses a second --start', async () => {
    const r = await runCli(e, ['--start', '--model-store', 'model-store', '--ts-config', 'config.properties']);
    assert.equal(r.stdout, 'ortserve is already running, please use ortserve --stop to stop ortserve.\n');
    assert.equal(r.code, 1);
    assert.ok(isAlive(pid));
  });

  it('--stop stops it and removes the pid file and key_file.json; a second --stop exits 0 too', async () => {
    assert.ok(existsSync(path.join(e.cwd, 'key_file.json')));
    const r = await runCli(e, ['--stop']);
    assert.equal(r.stdout, 'ortserve has stopped.\n');
    assert.equal(r.code, 0);
    assert.equal(isAlive(pid), false);
    assert.equal(existsSync(e.pidFile), false);
    assert.equal(existsSync(path.join(e.cwd, 'key_file.json')), false);
    await assert.rejects(request(`${urls.inferenceUrl}/ping`), /ECONNREFUSED/);

    const again = await runCli(e, ['--stop']);
    assert.equal(again.stdout, 'ortserve is not currently running.\n');
    assert.equal(again.code, 0);
  });
});

describe('ortserve --start --foreground', () => {
  it('serves --models all without tokens, with the model API, and drains on SIGTERM', async () => {
    const e = makeCliEnv({ model_store: 'model-store' });
    writeProbeMar(e.modelStore, { name: 'alpha' });
    writeProbeMar(e.modelStore, { name: 'beta', directory: true });
    // The model store comes from the --ts-config file here.
    const server = await startForeground(e, [
      '--start', '--foreground', '--ts-config', 'config.properties', '--models', 'all', '--disable-token-auth', '--enable-model-api',
    ]);
    assert.equal(Number.parseInt(readFileSync(e.pidFile, 'utf8'), 10), server.pid);
    assert.equal(existsSync(path.join(e.cwd, 'key_file.json')), false);

    const ping = await request(`${server.inferenceUrl}/ping`);
    assert.equal(ping.status, 200);
    const list = await request(`${server.managementUrl}/models`);
    assert.deepEqual(list.json(), { models: [{ modelName: 'alpha', modelUrl: 'alpha.mar' }, { modelName: 'beta', modelUrl: 'beta' }] });
    const register = await request(`${server.managementUrl}/models?url=alpha.mar&model_name=alpha2&initial_workers=1`, { method: 'POST' });
    assert.equal(register.status, 200, register.text);
    assert.equal((await request(`${server.inferenceUrl}/predictions/alpha2`, { method: 'POST', body: 'x' })).text, 'x');

    const sentAt = Date.now();
    const slow = request(`${server.inferenceUrl}/predictions/beta`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ action: 'sleep', ms: 1500 }),
    });
    await sleep(400);
    server.child.kill('SIGTERM');
    await sleep(200);
    // No new connections once draining started, but the request in flight gets its answer.
    await assert.rejects(request(`${server.inferenceUrl}/ping`), /ECONNREFUSED/);
    const answer = await slow;
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.json<{ batchSize: number }>().batchSize, 1);
    assert.ok(Date.now() - sentAt >= 1400);
    const exit = await server.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, server.output());
    assert.equal(existsSync(e.pidFile), false);
  });
});
