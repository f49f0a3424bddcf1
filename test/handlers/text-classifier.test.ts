import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type ort from 'onnxruntime-node';
import { Context, PredictionException, type RequestRow, type ResponseValue } from '../../src/handler-api/index.js';
import TextClassifierHandler from '../../src/handlers/text-classifier.js';
import { writeTinyTextModel } from '../support/tiny-model.js';

/** The handler, counting its session.run calls (the contract is one run per batch). */
class CountingHandler extends TextClassifierHandler {
  runs = 0;
  override async initialize(context: Context): Promise<void> {
    await super.initialize(context);
    const session = this.session as ort.InferenceSession;
    const run = session.run.bind(session);
    session.run = ((...args: Parameters<typeof run>) => {
      this.runs++;
      return run(...args);
    }) as typeof session.run;
  }
  inputNames(): readonly string[] {
    return this.session?.inputNames ?? [];
  }
}

interface Loaded {
  handler: CountingHandler;
  ctx: Context;
}

async function load(modelDir: string, modelYamlConfig: Record<string, unknown> = {}): Promise<Loaded> {
  const ctx = new Context({
    modelName: 'tiny',
    modelVersion: '1.0',
    manifest: { runtime: 'python', model: { modelName: 'tiny', serializedFile: 'model.onnx', handler: 'text_classifier' } },
    systemProperties: {
      model_dir: modelDir,
      gpu_id: null,
      batch_size: 8,
      server_name: 'MMS',
      server_version: '0.1.0',
      limit_max_image_pixels: true,
      intra_op_threads: 1,
    },
    modelYamlConfig,
  });
  const handler = new CountingHandler();
  await handler.initialize(ctx);
  return { handler, ctx };
}

async function handle({ handler, ctx }: Loaded, rows: RequestRow[]): Promise<ResponseValue[]> {
  ctx.startBatch(rows.map((_, i) => `req-${i}`), rows.map(() => ({})));
  const out = await handler.handle(rows, ctx);
  assert.equal(out.length, rows.length, 'one response per request');
  return out;
}

type Scored = Array<{ label: string; score: number }>;

async function scores(m: Loaded, text: string): Promise<Scored> {
  const [out] = await handle(m, [{ body: { text } }]);
  return out as Scored;
}

function assertSameScores(a: Scored, b: Scored, tolerance = 1e-5): void {
  assert.deepEqual(a.map((s) => s.label), b.map((s) => s.label));
  a.forEach((s, i) => assert.ok(Math.abs(s.score - (b[i]?.score ?? NaN)) <= tolerance, `score ${i}: ${s.score} vs ${b[i]?.score}`));
}

function maxScoreDiff(a: Scored, b: Scored): number {
  const byLabel = new Map(b.map((s) => [s.label, s.score]));
  return Math.max(...a.map((s) => Math.abs(s.score - (byLabel.get(s.label) ?? NaN))));
}

const LABELS = ['Not Accepted', 'Accepted'];
const SENTENCES = [
  'The concert starts tonight at the city park.',
  'I did not like the event, it was boring.',
  'Festival de jazz este fin de semana con bandas en directo.',
  'hello',
  'Please accept my request, I want to attend the workshop next week and bring my family.',
];

describe('text_classifier handler', () => {
  let root: string;
  let plainDir: string;
  let m: Loaded;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'text-classifier-'));
    plainDir = path.join(root, 'plain');
    await writeTinyTextModel(plainDir);
    m = await load(plainDir);
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('answers a plain-text body with a label name from config.json id2label', async () => {
    const [label] = await handle(m, [{ body: SENTENCES[0] }]);
    assert.equal(typeof label, 'string');
    assert.ok(LABELS.includes(label as string), `unexpected label ${String(label)}`);
    const top = await scores(m, SENTENCES[0] as string);
    assert.equal(label, top[0]?.label, 'the plain answer is the best-scored label');
  });

  it('decodes bytes bodies and form `data` fields as UTF-8 text', async () => {
    const text = 'No me gustó el evento, fue aburrido y demasiado caro.';
    const [asString] = await handle(m, [{ body: text }]);
    const [asBytes, asData] = await handle(m, [{ body: new TextEncoder().encode(text) }, { data: Buffer.from(text, 'utf8') }]);
    assert.equal(asBytes, asString);
    assert.equal(asData, asString);
    // As TorchServe's `row.get("data") or row.get("body")`: an empty data field falls through to body.
    const [fallThrough] = await handle(m, [{ data: '', body: text }]);
    assert.equal(fallThrough, asString);
    // A JSON object sent as bytes (no JSON content type) is still the JSON form.
    const [json] = await handle(m, [{ body: Buffer.from(JSON.stringify({ text, top_k: 1 })) }]);
    assert.deepEqual((json as Scored).map((s) => s.label), [asString]);
  });

  it('classifies each non-empty line of a multi-line body, in one session run', async () => {
    const body = `${SENTENCES.join('\n')}\n\n`;
    m.handler.runs = 0;
    const [labels] = await handle(m, [{ body }]);
    assert.equal(m.handler.runs, 1);
    assert.ok(Array.isArray(labels));
    const alone: ResponseValue[] = [];
    for (const line of SENTENCES) alone.push(...(await handle(m, [{ body: line }])));
    assert.deepEqual(labels, alone);
    assert.ok(new Set(alone).size > 1, 'the sentences should not all get the same label (weak test otherwise)');
  });

  it('answers {"text", "top_k"} with the k best labels and scores, sorted', async () => {
    const all = await scores(m, SENTENCES[1] as string);
    assert.equal(all.length, 2);
    assert.deepEqual(new Set(all.map((s) => s.label)), new Set(LABELS));
    assert.ok(all[0]!.score >= all[1]!.score);
    assert.ok(Math.abs(all[0]!.score + all[1]!.score - 1) < 1e-9);
    const [top1] = await handle(m, [{ body: { text: SENTENCES[1], top_k: 1 } }]);
    assert.deepEqual(top1, all.slice(0, 1));
  });

  it('gives a batch the same answers as one request at a time (padding is masked)', async () => {
    const rows: RequestRow[] = [
      { body: SENTENCES[3] },
      { body: { text: SENTENCES[4] } },
      { body: `${SENTENCES[0]}\n${SENTENCES[2]}` },
      { body: { text: SENTENCES[3], top_k: 2 } },
    ];
    m.handler.runs = 0;
    const batched = await handle(m, rows);
    assert.equal(m.handler.runs, 1, 'one session.run per batch');
    for (let i = 0; i < rows.length; i++) {
      const [single] = await handle(m, [rows[i] as RequestRow]);
      if (typeof single === 'string' || (Array.isArray(single) && typeof single[0] === 'string')) {
        assert.deepEqual(batched[i], single);
      } else {
        assertSameScores(batched[i] as Scored, single as Scored);
      }
    }
  });

  it('rejects an empty text with PredictionException 400', async () => {
    for (const body of ['', '  \n \r\n', { text: '   ' }, new Uint8Array(0)]) {
      await assert.rejects(handle(m, [{ body }]), (err: unknown) => {
        assert.ok(err instanceof PredictionException, `not a PredictionException: ${String(err)}`);
        assert.equal(err.errorCode, 400);
        assert.match(err.message, /empty/i);
        return true;
      });
    }
    await assert.rejects(handle(m, [{ body: { text: 'hi', top_k: 0 } }]), (err: unknown) => err instanceof PredictionException && err.errorCode === 400);
  });

  it('answers only the bad request of a mixed batch with 400', async () => {
    const out = await handle(m, [{ body: SENTENCES[0] }, { body: '' }, { body: SENTENCES[1] }]);
    assert.equal(m.ctx.getResponseStatus(0), 200);
    assert.equal(m.ctx.getResponseStatus(1), 400);
    assert.equal(m.ctx.getResponseStatus(2), 200);
    assert.ok(LABELS.includes(out[0] as string));
    assert.deepEqual(out[1], { code: 400, type: 'InternalServerException', message: 'The text to classify is empty' });
  });

  it('prefers index_to_name.json over config.json, and falls back to class indices', async () => {
    const dir = path.join(root, 'index-to-name');
    await writeTinyTextModel(dir);
    await writeFile(path.join(dir, 'index_to_name.json'), JSON.stringify({ 0: 'NO', 1: 'YES' }));
    const withMapping = await load(dir);
    const answers = await handle(withMapping, SENTENCES.map((body) => ({ body })));
    assert.ok(answers.every((a) => a === 'NO' || a === 'YES'), `got ${JSON.stringify(answers)}`);

    const bare = path.join(root, 'no-labels');
    await writeTinyTextModel(bare);
    const config = JSON.parse(await readFile(path.join(bare, 'config.json'), 'utf8')) as Record<string, unknown>;
    delete config['id2label'];
    await writeFile(path.join(bare, 'config.json'), JSON.stringify(config));
    const noLabels = await load(bare);
    const [top] = await handle(noLabels, [{ body: { text: SENTENCES[0] } }]);
    assert.deepEqual(new Set((top as Scored).map((s) => s.label)), new Set(['0', '1']));
  });

  it('feeds token_type_ids when the graph declares it', async () => {
    const dir = path.join(root, 'token-types');
    await writeTinyTextModel(dir, { tokenTypeIds: true, labels: ['a', 'b', 'c'] });
    const bert = await load(dir);
    assert.deepEqual([...bert.handler.inputNames()].sort(), ['attention_mask', 'input_ids', 'token_type_ids']);
    const out = await handle(bert, [{ body: SENTENCES[0] }, { body: { text: SENTENCES[1], top_k: 2 } }]);
    assert.ok(['a', 'b', 'c'].includes(out[0] as string));
    const top2 = out[1] as Scored;
    assert.equal(top2.length, 2);
    assert.ok(top2[0]!.score >= top2[1]!.score);
    assert.ok(top2[0]!.score + top2[1]!.score < 1, 'two of three softmax scores sum to less than 1');
  });

  describe('max_length', () => {
    // Six words that are whole tokens of the tiny vocabulary: with max_length 8 ([CLS] + 6 + [SEP]),
    // the long text must score exactly like its first six words.
    const words = ['the', 'festival', 'music', 'and', 'tickets', 'please'];
    const prefix = words.join(' ');
    const long = `${prefix} ${'concert night park city open event '.repeat(6)}`;

    before(async () => {
      const tokenizer = JSON.parse(await readFile(path.join(plainDir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
      for (const w of words) assert.ok(w in tokenizer.model.vocab, `"${w}" is not a whole token of the tiny vocabulary`);
    });

    it('truncates at max_length from setup_config.json (string values accepted)', async () => {
      const dir = path.join(root, 'setup-config');
      await writeTinyTextModel(dir);
      await writeFile(path.join(dir, 'setup_config.json'), JSON.stringify({ max_length: '8', do_lower_case: true }));
      const truncating = await load(dir);
      assertSameScores(await scores(truncating, long), await scores(m, prefix));
      assert.ok(maxScoreDiff(await scores(m, long), await scores(m, prefix)) > 1e-4, 'untruncated text should score differently');
    });

    it('takes max_length from the model-config.yaml handler section, over setup_config.json', async () => {
      const dir = path.join(root, 'yaml-config');
      await writeTinyTextModel(dir);
      await writeFile(path.join(dir, 'setup_config.json'), JSON.stringify({ max_length: '100' }));
      const truncating = await load(dir, { handler: { max_length: 8 } });
      assertSameScores(await scores(truncating, long), await scores(m, prefix));
    });
  });

  it('applies do_lower_case over the tokenizer setting', async () => {
    const shout = 'THE CONCERT STARTS TONIGHT';
    assertSameScores(await scores(m, shout), await scores(m, shout.toLowerCase()));
    const cased = await load(plainDir, { handler: { do_lower_case: 'false' } });
    // Upper-case letters are not in the lower-cased vocabulary: they become [UNK] and change the scores.
    assert.ok(maxScoreDiff(await scores(cased, shout), await scores(cased, shout.toLowerCase())) > 1e-4);
  });
});
