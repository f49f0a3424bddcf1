/**
 * The committed taxonomy archives (model-store/*.mar, built by `npm run build:models`), served by a
 * real server: one label per line, and batched answers equal to single answers.
 */
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readSplit, eventText } from '../../tools/taxonomy/dataset.js';
import { startTestServer, type TestServer } from '../support/server.js';

const STORE = fileURLToPath(new URL('../../../model-store/', import.meta.url));
const TAXONOMIES = ['exhibitions_museums', 'family_kids', 'festivals_nightlife', 'food_drink', 'music', 'performing_arts', 'sports', 'tours_outdoors'];

type EventAnswer = { taxonomy: string; subtaxonomy: string | null };

describe('the taxonomy archives', () => {
  let s: TestServer;
  let auth: Record<string, string>;
  const events = readSplit('test').slice(0, 24).map(eventText);

  const put = async (model: string, body: string, json = false): Promise<unknown> => {
    const r = await fetch(`${s.inferenceUrl}/predictions/${model}`, {
      method: 'PUT',
      headers: { ...auth, ...(json ? { 'Content-Type': 'application/json' } : {}) },
      body,
    });
    const text = await r.text();
    assert.equal(r.status, 200, text);
    // Handlers' answers carry no content type (as in TorchServe): a list or an object is JSON text.
    return /^[[{]/.test(text) ? JSON.parse(text) : text;
  };

  before(async () => {
    s = await startTestServer();
    auth = s.auth('inference');
    for (const name of ['taxonomy', 'music_subtaxonomy', 'events']) {
      copyFileSync(path.join(STORE, `${name}.mar`), path.join(s.modelStore, `${name}.mar`));
      await s.register(`url=${name}.mar&initial_workers=1&batch_size=8&max_batch_delay=200`);
    }
  });
  after(() => s.stop());

  it('taxonomy.mar answers a label name for one line and one label per line for several', async () => {
    const single = await Promise.all(events.slice(0, 6).map((e) => put('taxonomy', e)));
    for (const label of single) assert.ok(TAXONOMIES.includes(label as string), String(label));
    const lines = await put('taxonomy', events.slice(0, 6).join('\n'));
    assert.deepEqual(lines, single);
  });

  it('taxonomy.mar labels at least 80 % of the test split and music_subtaxonomy 70 % of its music listings', async () => {
    // The labels written with the listings are the independent answer; the split is never trained on.
    const test = readSplit('test');
    // 16 requests at a time: all 134 at once would overflow the job queue (100) and get 503s.
    const labelAll = async (model: string, texts: string[]): Promise<unknown[]> => {
      const out: unknown[] = [];
      for (let i = 0; i < texts.length; i += 16) out.push(...(await Promise.all(texts.slice(i, i + 16).map((t) => put(model, t)))));
      return out;
    };
    const labels = await labelAll('taxonomy', test.map(eventText));
    const right = test.filter((l, i) => labels[i] === l.taxonomy).length;
    assert.ok(right / test.length >= 0.8, `taxonomy: ${right} of ${test.length}`);
    const music = test.filter((l) => l.subtaxonomy !== null);
    const subs = await labelAll('music_subtaxonomy', music.map(eventText));
    const subRight = music.filter((l, i) => subs[i] === l.subtaxonomy).length;
    assert.ok(subRight / music.length >= 0.7, `music_subtaxonomy: ${subRight} of ${music.length}`);
  });

  it('events.mar gives the sub-taxonomy exactly for music, agreeing with the two single models', async () => {
    const answers = (await put('events', events.join('\n'))) as EventAnswer[];
    assert.equal(answers.length, events.length);
    const taxonomy = (await put('taxonomy', events.join('\n'))) as string[];
    const music = events.filter((_, i) => taxonomy[i] === 'music');
    assert.ok(music.length > 0, 'no music event among the first test listings');
    const sub = music.length === 1 ? [await put('music_subtaxonomy', music[0]!)] : ((await put('music_subtaxonomy', music.join('\n'))) as string[]);
    let k = 0;
    answers.forEach((a, i) => {
      assert.equal(a.taxonomy, taxonomy[i]);
      assert.equal(a.subtaxonomy, a.taxonomy === 'music' ? sub[k++] : null);
    });
  });

  it('events.mar answers batched requests as it answers them one at a time', async () => {
    const oneByOne: unknown[] = [];
    for (const e of events.slice(0, 12)) oneByOne.push(await put('events', e));
    // Sent together, the requests share batches (batch_size 8, max_batch_delay 200).
    const together = await Promise.all(events.slice(0, 12).map((e) => put('events', e)));
    assert.deepEqual(together, oneByOne);
  });

  it('events.mar ranks labels with scores for a JSON request', async () => {
    const music = (await put('events', JSON.stringify({ text: 'Symphony orchestra plays Beethoven and Brahms at the concert hall', top_k: 3 }), true)) as {
      taxonomy: Array<{ label: string; score: number }>;
      subtaxonomy: Array<{ label: string; score: number }> | null;
    };
    assert.equal(music.taxonomy.length, 3);
    assert.ok(music.taxonomy[0]!.score >= music.taxonomy[1]!.score);
    assert.equal(music.subtaxonomy === null, music.taxonomy[0]!.label !== 'music');
  });
});
