/**
 * The attacks of the security audit on worker counts, batch sizes, timeouts and names (issue 13, items
 * 3-5), through every door a setting comes in by: REST, gRPC, model-config.yaml, config.properties
 * `models`, snapshots and workflow specifications. Each is answered at once with a clear error, and the
 * models already registered keep serving.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status as Code, type ServiceError } from '@grpc/grpc-js';
import request from 'supertest';
import { restoreSnapshot } from '../../src/registry/startup-models.js';
import type { SnapshotVersion } from '../../src/snapshot/snapshot-manager.js';
import { bearer, managementClient, unary, type AnyClient } from '../grpc/support.js';
import { writeProbeMar } from '../support/archives.js';
import { makeTempDir, startTestServer, type TestServer } from '../support/server.js';
import { writeWar } from '../workflows/helpers.js';

/** Node's timers: 2^31 - 1 ms; in whole seconds 2147483. One second more overflows to 1 ms. */
const TIMER_LIMIT_SEC = Math.floor((2 ** 31 - 1) / 1000);
/** The documented default of max_workers_per_model. */
const DEFAULT_WORKER_CAP = 4 * availableParallelism();

describe('limits on settings (issue 13)', () => {
  let s: TestServer;
  let auth: Record<string, string>;
  const mgmt = () => request(s.managementUrl);
  const workers = async (name: string): Promise<number> => (await mgmt().get(`/models/${name}`).set(auth)).body[0].workers.length;
  const names = async (): Promise<string[]> => (await mgmt().get('/models').set(auth)).body.models.map((m: { modelName: string }) => m.modelName).sort();

  before(async () => {
    s = await startTestServer();
    auth = s.auth('management');
    writeProbeMar(s.modelStore, { name: 'probe' });
    writeProbeMar(s.modelStore, { name: 'free' });
    await s.register('url=probe.mar&initial_workers=1');
  });
  after(() => s.stop());

  describe('REST scale', () => {
    it('min_worker=1000000000 is a 400 naming max_workers_per_model, and the model keeps its worker', async () => {
      const r = await mgmt().put('/models/probe?min_worker=1000000000&synchronous=true').set(auth);
      assert.equal(r.status, 400);
      assert.deepEqual(r.body, {
        code: 400,
        type: 'BadRequestException',
        message: `min_worker=1000000000 exceeds ${DEFAULT_WORKER_CAP} workers, the cap set by max_workers_per_model`,
      });
      assert.equal(await workers('probe'), 1);
    });

    it('min_worker=-1 is TorchServe\'s 500, and no worker is stopped', async () => {
      const r = await mgmt().put('/models/probe?min_worker=-1').set(auth);
      assert.deepEqual([r.status, r.body], [500, { code: 500, type: 'IndexOutOfBoundsException', message: 'Index -1 out of bounds for length 0' }]);
      const withMax = await mgmt().put('/models/probe?min_worker=-1&max_worker=2').set(auth);
      assert.deepEqual([withMax.status, withMax.body.message], [400, 'min_worker must be at least 0, not -1']);
      assert.equal(await workers('probe'), 1);
      // TorchServe's check comes first for a negative max_worker alone.
      const maxOnly = await mgmt().put('/models/probe?max_worker=-1').set(auth);
      assert.deepEqual([maxOnly.status, maxOnly.body.message], [400, 'max_worker cannot be less than min_worker.']);
    });
  });

  describe('REST register', () => {
    const refused: Array<[string, string]> = [
      ['initial_workers=1000000000', `initial_workers=1000000000 exceeds ${DEFAULT_WORKER_CAP} workers, the cap set by max_workers_per_model`],
      ['batch_size=1025', 'batch_size=1025 exceeds 1024 requests, the cap set by max_batch_size'],
      ['batch_size=0', 'batch_size must be at least 1, not 0'],
      ['startup_timeout=2147484', `startup_timeout=2147484 exceeds ${TIMER_LIMIT_SEC} s, the longest time Node's timers can wait`],
      ['max_batch_delay=-7', 'max_batch_delay must not be negative (-1 means the default), not -7'],
    ];
    for (const [query, message] of refused) {
      it(`${query.slice(0, 40)} is a 400 and registers nothing`, async () => {
        const r = await mgmt().post(`/models?url=free.mar&${query}`).set(auth);
        assert.deepEqual([r.status, r.body], [400, { code: 400, type: 'BadRequestException', message }]);
        assert.deepEqual(await names(), ['probe']);
      });
    }

    it('the same from a JSON body, where a 100,000-character model_name fits (the query string cannot hold one)', async () => {
      const r = await mgmt().post('/models').set(auth).type('json').send({ url: 'free.mar', response_timeout: 2147484 });
      assert.equal(r.status, 400);
      assert.match(r.body.message, /^response_timeout=2147484 exceeds/);
      const long = await mgmt().post('/models').set(auth).type('json').send({ url: 'free.mar', model_name: 'm'.repeat(100_000) });
      assert.deepEqual([long.status, long.body], [400, { code: 400, type: 'BadRequestException', message: 'model_name is 100000 characters long; at most 256 are allowed' }]);
      assert.deepEqual(await names(), ['probe']);
    });

    it('response_timeout=2147484 (its timer would fire after 1 ms) is a 400; the longest one that fits serves predictions', async () => {
      const r = await mgmt().post('/models?url=free.mar&initial_workers=1&response_timeout=2147484').set(auth);
      assert.deepEqual([r.status, r.body.message], [400, `response_timeout=2147484 exceeds ${TIMER_LIMIT_SEC} s, the longest time Node's timers can wait`]);
      assert.deepEqual(await names(), ['probe']);
      await s.register(`url=free.mar&initial_workers=1&response_timeout=${TIMER_LIMIT_SEC}`);
      const p = await request(s.inferenceUrl).post('/predictions/free').set(s.auth('inference')).type('text').send('hello');
      assert.deepEqual([p.status, p.text], [200, 'hello']);
      assert.equal((await mgmt().get('/models/free').set(auth)).body[0].responseTimeout, TIMER_LIMIT_SEC);
      await mgmt().delete('/models/free').set(auth).expect(200);
    });

    it("batch_size=-5 is a 400, while TorchServe's -1 still means the default", async () => {
      const r = await mgmt().post('/models?url=free.mar&batch_size=-5').set(auth);
      assert.deepEqual([r.status, r.body.message], [400, 'batch_size must not be negative (-1 means the default), not -5']);
      assert.deepEqual(await names(), ['probe']);
      await s.register('url=free.mar&initial_workers=-1&batch_size=-1&max_batch_delay=-100&response_timeout=-1');
      const d = (await mgmt().get('/models/free').set(auth)).body[0];
      assert.deepEqual([d.workers.length, d.batchSize, d.maxBatchDelay, d.responseTimeout], [0, 1, 100, 120]);
      await mgmt().delete('/models/free').set(auth).expect(200);
    });
  });

  describe('names and versions from archives', () => {
    it('a 256-character name registers; 257 characters in a manifest name or version are refused', async () => {
      const ok = 'n'.repeat(256);
      writeProbeMar(s.modelStore, { name: ok, fileName: 'n256.mar' });
      writeProbeMar(s.modelStore, { name: 'n'.repeat(257), fileName: 'n257.mar' });
      writeProbeMar(s.modelStore, { name: 'longversion', version: '1'.repeat(257), fileName: 'v257.mar' });
      await s.register('url=n256.mar');
      const name = await mgmt().post('/models?url=n257.mar').set(auth);
      assert.deepEqual([name.status, name.body.type, name.body.message], [400, 'InvalidModelException', 'Model name is 257 characters long; at most 256 are allowed']);
      const version = await mgmt().post('/models?url=v257.mar').set(auth);
      assert.deepEqual([version.status, version.body.message], [400, 'Model version is 257 characters long; at most 256 are allowed']);
      assert.deepEqual(await names(), [ok, 'probe']);
      await mgmt().delete(`/models/${ok}`).set(auth).expect(200);
    });
  });

  describe('model-config.yaml', () => {
    const refused: Array<[string, string]> = [
      ['minWorkers: 1000000000\nmaxWorkers: 1000000000\n', `minWorkers=1000000000 exceeds ${DEFAULT_WORKER_CAP} workers, the cap set by max_workers_per_model`],
      ['responseTimeout: 2147484\n', `responseTimeout=2147484 exceeds ${TIMER_LIMIT_SEC} s, the longest time Node's timers can wait`],
      ['maxBatchDelay: 2147483648\n', "maxBatchDelay=2147483648 exceeds 2147483647 ms, the longest time Node's timers can wait"],
      ['clientTimeoutInMills: 99999999999\n', "clientTimeoutInMills=99999999999 exceeds 2147483647 ms, the longest time Node's timers can wait"],
      ['batchSize: 5000\n', 'batchSize=5000 exceeds 1024 requests, the cap set by max_batch_size'],
      ['batchSize: lots\n', 'batchSize must be an integer, not "lots"'],
      ['jobQueueSize: -3\n', 'jobQueueSize must be at least 1, not -3'],
    ];
    refused.forEach(([yaml, problem], i) => {
      it(`${yaml.trim().split('\n')[0]} refuses the model`, async () => {
        writeProbeMar(s.modelStore, { name: `yaml${i}`, yaml });
        const r = await mgmt().post(`/models?url=yaml${i}.mar`).set(auth);
        assert.deepEqual([r.status, r.body], [400, { code: 400, type: 'InvalidModelException', message: `model-config.yaml of model yaml${i} version 1.0: ${problem}` }]);
        assert.deepEqual(await names(), ['probe']);
      });
    });
  });

  describe('gRPC', () => {
    let client: AnyClient;
    before(() => {
      client = managementClient(s);
    });
    after(() => client.close());
    const fails = async (method: string, req: object): Promise<ServiceError> => {
      try {
        await unary(client, method, req, bearer(s, 'management'));
      } catch (err) {
        return err as ServiceError;
      }
      assert.fail(`${method} succeeded`);
    };

    it('ScaleWorker: min_worker 1000000000 is INVALID_ARGUMENT, -1 is INTERNAL as in TorchServe\'s test data', async () => {
      const big = await fails('ScaleWorker', { model_name: 'probe', min_worker: 1_000_000_000, synchronous: true });
      assert.equal(big.code, Code.INVALID_ARGUMENT);
      assert.match(big.details, /^min_worker=1000000000 exceeds \d+ workers, the cap set by max_workers_per_model/);
      const negative = await fails('ScaleWorker', { model_name: 'probe', min_worker: -1 });
      assert.equal(negative.code, Code.INTERNAL);
      assert.equal(await workers('probe'), 1);
    });

    it('RegisterModel: workers, timeouts, batch sizes and names out of bounds are INVALID_ARGUMENT', async () => {
      const cases: Array<[object, RegExp]> = [
        [{ initial_workers: 1_000_000_000 }, /^initial_workers=1000000000 exceeds/],
        [{ response_timeout: 2147484 }, /^response_timeout=2147484 exceeds 2147483 s/],
        [{ startup_timeout: 2147484 }, /^startup_timeout=2147484 exceeds 2147483 s/],
        [{ batch_size: 1025 }, /^batch_size=1025 exceeds 1024 requests/],
        [{ batch_size: -5 }, /^batch_size must not be negative/],
        [{ model_name: 'g'.repeat(100_000) }, /^model_name is 100000 characters long/],
      ];
      for (const [fields, message] of cases) {
        const e = await fails('RegisterModel', { url: 'free.mar', synchronous: true, ...fields });
        assert.equal(e.code, Code.INVALID_ARGUMENT, JSON.stringify(fields).slice(0, 60));
        assert.match(e.details, message);
      }
      assert.deepEqual(await names(), ['probe']);
    });
  });

  describe('workflows', () => {
    it('a node timeout-ms or a response_timeout beyond a timer, or a 257-character workflow name, is a 400 and registers nothing', async () => {
      const handler = 'export function pre(data) { return data && data.map((r) => r.body); }\n';
      const war = await writeWar(s.modelStore, 'slowwf', 'models:\n  timeout-ms: 2147483648\ndag:\n  pre: []\n', handler);
      const slow = await mgmt().post(`/workflows?url=${war}`).set(auth);
      assert.deepEqual([slow.status, slow.body.type, slow.body.message], [
        400,
        'InvalidWorkflowException',
        'timeout-ms of node "pre"=2147483648 exceeds 2147483647 ms, the longest time Node\'s timers can wait',
      ]);
      const named = await mgmt().post(`/workflows?url=${war}&workflow_name=${'w'.repeat(257)}`).set(auth);
      assert.deepEqual([named.status, named.body.message], [400, 'workflow_name is 257 characters long; at most 256 are allowed']);
      const timeout = await mgmt().post(`/workflows?url=${war}&workflow_name=ok&response_timeout=2147484`).set(auth);
      assert.deepEqual([timeout.status, timeout.body.message], [400, `response_timeout=2147484 exceeds ${TIMER_LIMIT_SEC} s, the longest time Node's timers can wait`]);
      assert.deepEqual(await names(), ['probe']);
    });
  });

  describe('snapshots', () => {
    const entry = (fields: Partial<Record<keyof SnapshotVersion, unknown>>): SnapshotVersion =>
      ({ defaultVersion: true, marName: 'free.mar', minWorkers: 1, maxWorkers: 1, batchSize: 1, maxBatchDelay: 100, responseTimeout: 120, startupTimeout: 120, runtimeType: 'python', ...fields }) as SnapshotVersion;

    it('a version with absurd or non-integer settings is skipped with a message; the others are restored', async () => {
      const log: string[] = [];
      await restoreSnapshot(
        s.manager,
        {
          name: '20260101000000000-snapshot.cfg',
          modelCount: 4,
          created: 0,
          models: {
            many: { '1.0': entry({ minWorkers: 1_000_000_000, maxWorkers: 1_000_000_000 }) },
            slow: { '1.0': entry({ responseTimeout: 2147484 }) },
            odd: { '1.0': entry({ minWorkers: 'two' }) },
            free: { '1.0': entry({}) },
          },
        },
        (m) => log.push(m),
      );
      assert.deepEqual(await names(), ['free', 'probe']);
      assert.equal(await workers('free'), 1);
      assert.deepEqual(log, [
        `Skipping model many version 1.0 of the snapshot: minWorkers=1000000000 exceeds ${DEFAULT_WORKER_CAP} workers, the cap set by max_workers_per_model`,
        `Skipping model slow version 1.0 of the snapshot: responseTimeout=2147484 exceeds ${TIMER_LIMIT_SEC} s, the longest time Node's timers can wait`,
        'Skipping model odd version 1.0 of the snapshot: minWorkers must be an integer, not "two"',
        'Restored model free version 1.0 with 1 workers',
      ]);
      await mgmt().delete('/models/free').set(auth).expect(200);
    });
  });
});

describe('caps from config.properties (issue 13)', () => {
  it('max_workers_per_model and max_batch_size set the caps; a `models` entry above them keeps that model out at startup, not the others', async () => {
    const dir = makeTempDir();
    writeProbeMar(path.join(dir, 'model-store'), { name: 'good' });
    writeProbeMar(path.join(dir, 'model-store'), { name: 'greedy' });
    const s = await startTestServer({
      dir,
      properties: {
        max_workers_per_model: '2',
        max_batch_size: '8',
        load_models: 'good.mar,greedy.mar',
        models: JSON.stringify({ greedy: { '1.0': { minWorkers: 3, maxWorkers: 3 } }, good: { '1.0': { minWorkers: 2, maxWorkers: 2, batchSize: 8 } } }),
      },
      cli: { noConfigSnapshots: true },
    });
    try {
      const auth = s.auth('management');
      const mgmt = () => request(s.managementUrl);
      const d = (await mgmt().get('/models/good').set(auth)).body[0];
      assert.deepEqual([d.workers.length, d.batchSize], [2, 8]);
      assert.equal((await mgmt().get('/models/greedy').set(auth)).status, 404);
      const greedy = await mgmt().post('/models?url=greedy.mar').set(auth);
      assert.deepEqual([greedy.status, greedy.body.message], [
        400,
        'config.properties "models", model greedy version 1.0: minWorkers=3 exceeds 2 workers, the cap set by max_workers_per_model',
      ]);
      const scale = await mgmt().put('/models/good?min_worker=3').set(auth);
      assert.deepEqual([scale.status, scale.body.message], [400, 'min_worker=3 exceeds 2 workers, the cap set by max_workers_per_model']);
      const batch = await mgmt().post('/models?url=greedy.mar&model_name=g2&batch_size=9').set(auth);
      assert.deepEqual([batch.status, batch.body.message], [400, 'batch_size=9 exceeds 8 requests, the cap set by max_batch_size']);
    } finally {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
