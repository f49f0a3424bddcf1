import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countPasses, estimateTokens, MAX_PASSES, selectBatch } from '../../src/scheduling/batch-selection.js';
import { JobQueue, type BatchPolicy } from '../../src/scheduling/job-queue.js';
import { Job } from '../../src/scheduling/job.js';

let clock = 0;
/** Jobs with increasing arrival times, named by id, costing `cost` tokens. */
const job = (id: string, cost: number) => new Job({ requestId: id, headers: {}, parameters: [] }, cost, ++clock);
const ids = (jobs: Job[]) => jobs.map((j) => j.request.requestId);
const adaptive: BatchPolicy = { scheduler: 'adaptive', batchSize: 3, maxBatchDelayMs: 100, maxBatchTokens: 10_000, clientTimeoutMs: 0 };

describe('selectBatch', () => {
  it('takes the oldest job and the jobs closest to it in length', () => {
    const pool = [job('a', 50), job('b', 200), job('c', 48), job('d', 190), job('e', 55)];
    assert.deepEqual(ids(selectBatch(pool, { batchSize: 3, maxBatchTokens: 10_000 })), ['a', 'c', 'e']);
  });

  it('caps a batch by padded tokens (jobs × longest), but always takes one job', () => {
    const pool = [job('a', 100), job('b', 100), job('c', 100), job('d', 100)];
    assert.deepEqual(ids(selectBatch(pool, { batchSize: 8, maxBatchTokens: 250 })), ['a', 'b']);
    assert.deepEqual(ids(selectBatch([job('huge', 900), job('x', 10)], { batchSize: 8, maxBatchTokens: 250 })), ['huge']);
  });

  it('anchors the batch on a job overtaken MAX_PASSES times, grouping around its length', () => {
    const pool = [job('a', 20), job('odd', 400), job('b', 21), job('long', 390), job('c', 22)];
    assert.deepEqual(ids(selectBatch(pool, { batchSize: 2, maxBatchTokens: 10_000 })), ['a', 'b']);
    pool[1]!.passes = MAX_PASSES;
    assert.deepEqual(ids(selectBatch(pool, { batchSize: 2, maxBatchTokens: 10_000 })), ['odd', 'long']);
  });

  it('leaves out jobs that would make the batch mostly padding', () => {
    const pool = [job('long', 200), job('short1', 30), job('short2', 35), job('long2', 190)];
    assert.deepEqual(ids(selectBatch(pool, { batchSize: 4, maxBatchTokens: 10_000 })), ['long', 'long2']);
  });

  it('counts a pass only for jobs a younger job overtook', () => {
    const [old, chosen, young] = [job('old', 200), job('chosen', 20), job('young', 300)];
    countPasses([old, young], [chosen]);
    assert.deepEqual([old.passes, young.passes], [1, 0]);
  });

  it('estimates tokens from body bytes, capped by the model maximum', () => {
    assert.equal(estimateTokens(0, 512), 2);
    assert.equal(estimateTokens(400, 512), 102);
    assert.equal(estimateTokens(100_000, 210), 210);
  });
});

describe('JobQueue, adaptive scheduler', () => {
  it('sends a lone job at once, however long max_batch_delay is', async () => {
    const q = new JobQueue(10);
    q.offer(job('alone', 10));
    const batch = await q.nextBatch({ ...adaptive, maxBatchDelayMs: 60_000 }, new AbortController().signal);
    assert.deepEqual(ids(batch), ['alone']);
  });

  it('forms a length-grouped batch from what is queued and counts a pass for the others', async () => {
    const q = new JobQueue(10);
    for (const [id, cost] of [['s1', 10], ['l1', 200], ['s2', 12], ['l2', 210], ['s3', 11]] as const) q.offer(job(id, cost));
    const first = await q.nextBatch(adaptive, new AbortController().signal);
    assert.deepEqual(ids(first), ['s1', 's2', 's3']);
    const second = await q.nextBatch(adaptive, new AbortController().signal);
    assert.deepEqual(ids(second), ['l1', 'l2']);
    assert.ok(second.every((j) => j.passes === 1), 'the long jobs were overtaken by s2 and s3');
  });

  it('answers jobs older than clientTimeoutInMills with 503 instead of running them', async () => {
    const q = new JobQueue(10);
    const old = new Job({ requestId: 'old', headers: {}, parameters: [] }, 1, performance.now() - 5000);
    q.offer(old);
    // The fresh job's arrival is `++clock`: set the clock first, or the job dates from the previous tests'
    // small clock values and is itself expired once the process is more than clientTimeoutMs old.
    clock = performance.now();
    q.offer(job('fresh', 1));
    const batch = await q.nextBatch({ ...adaptive, clientTimeoutMs: 1000 }, new AbortController().signal);
    assert.deepEqual(ids(batch), ['fresh']);
    const outcome = await old.outcome;
    assert.equal(outcome.ok, false);
    assert.equal(!outcome.ok && outcome.error.status, 503);
    assert.equal(q.droppedExpired, 1);
  });
});
