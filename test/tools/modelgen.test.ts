import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AutoTokenizer, env } from '@huggingface/transformers';
import ort from 'onnxruntime-node';
import {
  PRESETS,
  buildDistilBertGraph,
  buildVocab,
  decodeModel,
  distilBertParameterCount,
  generateDistilBert,
  writeModelDir,
  type DistilBertOptions,
} from '../../tools/modelgen/index.js';

// A wider init than BERT's 0.02 so that logits react visibly to every token (near-ties would hide bugs).
const tiny: DistilBertOptions = { ...PRESETS.tiny, numLabels: 3, seed: 7, initializerRange: 0.2 };
const cliPath = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../tools/modelgen/cli.js');

function ids(values: number[][]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values.flat(), (v) => BigInt(v)), [values.length, values[0]?.length ?? 0]);
}

async function logits(session: ort.InferenceSession, inputIds: number[][], mask?: number[][]): Promise<ort.Tensor> {
  const m = mask ?? inputIds.map((row) => row.map(() => 1));
  const out = await session.run({ input_ids: ids(inputIds), attention_mask: ids(m) });
  const t = out['logits'];
  assert.ok(t, 'no logits output');
  return t;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
  return d;
}

describe('modelgen: DistilBERT graph', () => {
  let session: ort.InferenceSession;
  let bytes: Uint8Array;

  before(async () => {
    bytes = generateDistilBert(tiny);
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  });

  it('is small and declares the optimum interface with dynamic axes', () => {
    assert.ok(bytes.byteLength < 400 * 1024, `tiny model is ${bytes.byteLength} bytes`);
    assert.deepEqual([...session.inputNames], ['input_ids', 'attention_mask']);
    assert.deepEqual([...session.outputNames], ['logits']);
    for (const meta of session.inputMetadata) {
      assert.ok(meta.isTensor);
      assert.equal(meta.type, 'int64');
      assert.deepEqual(meta.shape, ['batch_size', 'sequence_length']);
    }
    const out = session.outputMetadata[0];
    assert.ok(out?.isTensor);
    assert.equal(out.type, 'float32');
    assert.deepEqual(out.shape, ['batch_size', 3]);
  });

  it('serializes a ModelProto with opset 17 and the expected nodes', () => {
    const model = decodeModel(bytes);
    assert.equal(model.ir_version, 8);
    assert.deepEqual(model.opset_import.map((o) => [o.domain ?? '', o.version]), [['', 17]]);
    const ops = model.graph.node.map((n) => n.op_type);
    assert.equal(ops.filter((o) => o === 'LayerNormalization').length, 1 + 2 * tiny.layers);
    assert.equal(ops.filter((o) => o === 'Softmax').length, tiny.layers);
    assert.equal(ops.filter((o) => o === 'Erf').length, tiny.layers);
    assert.ok(!ops.includes('MatMulInteger'));
  });

  it('counts parameters like DistilBertForSequenceClassification', () => {
    // distilbert-base-uncased fine-tuned on SST-2 reports 66,955,010 parameters.
    assert.equal(distilBertParameterCount({ ...PRESETS.base, numLabels: 2 }), 66_955_010);
    assert.equal(buildDistilBertGraph(tiny).parameterCount, distilBertParameterCount(tiny));
  });

  it('runs batches of different shapes', async () => {
    for (const [batch, length] of [
      [1, 3],
      [4, 17],
      [2, 128],
    ] as const) {
      const input = Array.from({ length: batch }, (_, b) => Array.from({ length }, (_, j) => (b * 31 + j * 7) % tiny.vocabSize));
      const out = await logits(session, input);
      assert.deepEqual(out.dims, [batch, 3]);
      assert.ok([...(out.data as Float32Array)].every(Number.isFinite));
    }
  });

  it('is deterministic for a seed and differs across seeds', async () => {
    assert.deepEqual(generateDistilBert(tiny), bytes);
    const other = await ort.InferenceSession.create(generateDistilBert({ ...tiny, seed: 8 }));
    const input = [[2, 50, 60, 70, 3]];
    const a = (await logits(session, input)).data as Float32Array;
    const b = (await logits(other, input)).data as Float32Array;
    assert.ok(maxAbsDiff(a, b) > 1e-4, 'different seeds gave the same logits');
  });

  it('ignores padded positions (attention_mask 0)', async () => {
    const real = [2, 40, 41, 42, 43, 3];
    const base = (await logits(session, [real])).data as Float32Array;
    // The padding uses ordinary token ids, so only the mask can hide them.
    const padded = [...real, 99, 98, 97, 96, 95];
    const mask = [...real.map(() => 1), 0, 0, 0, 0, 0];
    const masked = (await logits(session, [padded], [mask])).data as Float32Array;
    assert.ok(maxAbsDiff(base, masked) <= 1e-4, `masked padding changed logits by ${maxAbsDiff(base, masked)}`);
    const unmasked = (await logits(session, [padded])).data as Float32Array;
    assert.ok(maxAbsDiff(base, unmasked) > 1e-4, 'the comparison is not sensitive to extra tokens');
  });

  it('int8 variant uses MatMulInteger, loads and tracks fp32', async () => {
    const int8 = generateDistilBert({ ...tiny, dtype: 'int8' });
    const ops = decodeModel(int8).graph.node.map((n) => n.op_type);
    const linears = tiny.layers * 6 + 2;
    assert.equal(ops.filter((o) => o === 'MatMulInteger').length, linears);
    assert.ok(ops.includes('DynamicQuantizeLinear'));
    // The only float MatMuls left are the two attention products per layer.
    assert.equal(ops.filter((o) => o === 'MatMul').length, 2 * tiny.layers);
    assert.ok(int8.byteLength < bytes.byteLength / 2);
    const q = await ort.InferenceSession.create(int8, { intraOpNumThreads: 1 });
    const input = [
      [2, 10, 20, 30, 3, 0],
      [2, 11, 3, 0, 0, 0],
    ];
    const mask = input.map((row) => row.map((v, j) => (j === 0 || v !== 0 ? 1 : 0)));
    const out = await logits(q, input, mask);
    assert.deepEqual(out.dims, [2, 3]);
    const ref = (await logits(session, input, mask)).data as Float32Array;
    const scale = Math.max(...[...ref].map(Math.abs));
    assert.ok(maxAbsDiff(out.data as Float32Array, ref) < 0.2 * scale + 1e-3, 'int8 logits far from fp32');
  });
});

describe('modelgen: vocabulary and tokenizer files', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'modelgen-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('builds a WordPiece vocabulary of the requested size', () => {
    const vocab = buildVocab(['The festival, the festival! Festivals and music.', 'Música en el parque'], 300);
    assert.equal(vocab.length, 300);
    assert.deepEqual(vocab.slice(0, 5), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    for (const token of ['a', '##a', 'festival', 'musica', ',', '!']) assert.ok(vocab.includes(token), `missing ${token}`);
    assert.ok(!vocab.includes('Festival'), 'the vocabulary is lower-cased');
    assert.ok(vocab.some((t) => t.startsWith('##') && t.length > 3), 'no multi-character continuation pieces');
    assert.equal(new Set(vocab).size, vocab.length);
    assert.deepEqual(buildVocab(['The festival'], 120), buildVocab(['The festival'], 120));
  });

  it('writes a model dir that transformers.js loads from local files only', async () => {
    const summary = await writeModelDir(dir, { preset: 'tiny', labels: ['neg', 'pos'], withIndexToName: true, withVocabTxt: true });
    assert.deepEqual(Object.keys(summary.files).sort(), [
      'config.json',
      'index_to_name.json',
      'model.onnx',
      'tokenizer.json',
      'tokenizer_config.json',
      'vocab.txt',
    ]);
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(config['model_type'], 'distilbert');
    assert.deepEqual(config['id2label'], { '0': 'neg', '1': 'pos' });
    assert.deepEqual(config['label2id'], { neg: 0, pos: 1 });
    assert.equal(config['max_position_embeddings'], PRESETS.tiny.maxPosition);

    env.allowRemoteModels = false;
    const tokenizer = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
    const vocab = (await readFile(path.join(dir, 'vocab.txt'), 'utf8')).trim().split('\n');
    const encoded = tokenizer.encode('Hello World, the festival!');
    assert.deepEqual(
      encoded,
      ['[CLS]', 'hello', 'world', ',', 'the', 'festival', '!', '[SEP]'].map((t) => vocab.indexOf(t)),
    );
    assert.deepEqual(encoded.slice(0, 1), [2]);
    assert.deepEqual(encoded.slice(-1), [3]);
    assert.equal(tokenizer.decode(encoded, { skip_special_tokens: true }), 'hello world, the festival!');
    // Accents are stripped with lower-casing, as BertNormalizer does; unknown words split into pieces.
    assert.deepEqual(tokenizer.tokenize('Café'), ['cafe']);
    assert.ok(!tokenizer.tokenize('zyxwvut').includes('[UNK]'));
  });

  it('has a CLI that prints what it wrote', async () => {
    const out = path.join(dir, 'cli');
    const { stdout } = await promisify(execFile)(process.execPath, [
      cliPath, '--out', out, '--layers', '1', '--hidden', '16', '--heads', '2', '--ffn', '32',
      '--vocab-size', '300', '--max-position', '64', '--labels', 'a,b,c', '--seed', '3', '--dtype', 'int8',
    ]);
    assert.match(stdout, /parameters: [\d,]+/);
    assert.match(stdout, /model\.onnx/);
    const session = await ort.InferenceSession.create(path.join(out, 'model.onnx'));
    const result = await logits(session, [[2, 5, 6, 3]]);
    assert.deepEqual(result.dims, [1, 3]);
    const config = JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(config['vocab_size'], 300);
    assert.equal(config['n_layers'], 1);
  });
});
