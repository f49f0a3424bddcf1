/**
 * ortserve-migrate on TorchServe archives of a Hugging Face sequence classifier, made as TorchServe's
 * Huggingface_Transformers example makes them (Transformer_handler_generalized.py, setup_config.json or
 * model-config.yaml's handler: section, save_pretrained files, index_to_name.json): a tiny BERT trained by
 * tools/migrate/make_hf_fixture.py, packed by ortserve-archiver as torch-model-archiver packs it, converted,
 * and served by a real ortserve, whose labels and probabilities are compared with the PyTorch model's
 * (computed by the fixture script, TorchServe's way: padded to max_length). Needs Python with torch and
 * transformers ($ORTSERVE_HF_PYTHON; tools/migrate/test-deps.sh makes a virtualenv from the pip mirror), so
 * it runs in `npm run test:python`, not in the plain `npm test`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import AdmZip from 'adm-zip';
import { makeTempDir, startTestServer, type TestServer } from '../support/server.js';

const run = promisify(execFile);
const DIST = fileURLToPath(new URL('../../', import.meta.url));
const REPO = path.resolve(DIST, '..');
const bin = (name: string): string => path.join(DIST, 'src', 'cli', `${name}.js`);
const PYTHON = process.env['ORTSERVE_HF_PYTHON'] ?? 'python3';
// Not the training texts (test/fixtures/migrate/train.json): one of each class, and one of none.
const TEXTS = [
  'The striker scored a goal in the last minute!',
  'Snow and rain are expected overnight.',
  'Fry the fish in butter with lemon.',
  'I have no idea what this sentence is about.',
];
// Probabilities come from float32 logits on both sides; measured differences are below 1e-6.
const TOLERANCE = 1e-4;

interface Expected {
  labels: string[];
  probabilities: Record<string, number[]>;
}

describe('ortserve-migrate on Hugging Face archives', () => {
  const dir = makeTempDir('ortserve-migrate-hf-');
  const env = { ...process.env, ORTSERVE_PYTHON: PYTHON };
  const cli = (name: string, args: string[]) => run(process.execPath, [bin(name), ...args], { cwd: dir, env, timeout: 600_000 });
  let expected: Expected;
  let s: TestServer;

  before(async () => {
    const made = await run(PYTHON, [path.join(REPO, 'tools', 'migrate', 'make_hf_fixture.py'), dir, ...TEXTS.flatMap((t) => ['--text', t])], { timeout: 600_000 });
    expected = JSON.parse(made.stdout.trim().split('\n').pop()!) as Expected;
    // TorchServe's example, transformers 4 style: setup_config.json, pytorch_model.bin, vocab.txt.
    await cli('archiver', ['--model-name', 'BERTSeqClassification', '--version', '1.0', '--serialized-file', 'Transformer_model/pytorch_model.bin',
      '--handler', './Transformer_handler_generalized.py', '--export-path', 'old', '--extra-files',
      'Transformer_model/config.json,./setup_config.json,./index_to_name.json,Transformer_model/vocab.txt,Transformer_model/tokenizer_config.json,sample_text.txt']);
    // Newer TorchServe: the settings in model-config.yaml's handler: section, safetensors, tokenizer.json; no sample text.
    writeFileSync(path.join(dir, 'model-config.yaml'), [
      'minWorkers: 1', 'maxWorkers: 1', 'batchSize: 4', 'maxBatchDelay: 20', 'handler:', '  model_name: tiny-bert',
      '  mode: sequence_classification', '  do_lower_case: true', '  num_labels: 3', '  save_mode: pretrained', '  max_length: 24',
      '  captum_explanation: false', 'pt2:', '  compile:', '    enable: True', '    backend: inductor', ''].join('\n'));
    await cli('archiver', ['--model-name', 'bert_st', '--version', '2.0', '--serialized-file', 'Transformer_model_safetensors/model.safetensors',
      '--handler', './Transformer_handler_generalized.py', '--config-file', 'model-config.yaml', '--export-path', 'old', '--extra-files',
      'Transformer_model_safetensors/config.json,Transformer_model_safetensors/tokenizer.json,Transformer_model_safetensors/tokenizer_config.json']);
    s = await startTestServer();
  });
  after(() => s?.stop());

  const cases = [
    { mar: 'BERTSeqClassification', version: '1.0', samples: /^same: sample_text\.txt: largest difference /m, labels: () => expected.labels.map((l) => l) },
    // No index_to_name.json: config.json's id2label (lower case) names the classes.
    { mar: 'bert_st', version: '2.0', samples: /^same: text 1: largest difference /m, labels: () => expected.labels.map((l) => l.toLowerCase()) },
  ];
  for (const c of cases) {
    it(`converts ${c.mar}.mar to a text_classifier archive that answers as the PyTorch model`, async () => {
      const r = await cli('migrate', [`old/${c.mar}.mar`, '--export-path', 'new']);
      assert.match(r.stdout, c.samples);
      assert.match(r.stdout, new RegExp(`Wrote .*new/${c.mar}\\.mar \\(text_classifier, from the PyTorch model \\(pretrained\\); `));
      const zip = new AdmZip(path.join(dir, 'new', `${c.mar}.mar`));
      const manifest = JSON.parse(zip.readAsText('MAR-INF/MANIFEST.json')) as { model: Record<string, string> };
      assert.deepEqual([manifest.model.handler, manifest.model.serializedFile, manifest.model.modelVersion], ['text_classifier', 'model.onnx', c.version]);
      assert.ok(zip.getEntry('tokenizer.json'), 'the tokenizer is converted to tokenizer.json');
      assert.match(zip.readAsText('model-config.yaml'), /handler:\n {2}max_length: 24\n {2}do_lower_case: true\n/);
      assert.doesNotMatch(zip.readAsText('model-config.yaml'), /pt2|mode:/);

      await import('node:fs/promises').then((fs) => fs.copyFile(path.join(dir, 'new', `${c.mar}.mar`), path.join(s.modelStore, `${c.mar}.mar`)));
      await s.register(`url=${c.mar}.mar&initial_workers=1&synchronous=true`);
      const labels = c.labels();
      const tops = new Set<string>();
      for (const text of TEXTS) {
        const probs = expected.probabilities[text]!;
        const ranked = probs.map((p, i) => [labels[i]!, p] as const).sort((a, b) => b[1] - a[1]);
        // TorchServe's answer: the label, as text.
        const plain = await fetch(`${s.inferenceUrl}/predictions/${c.mar}`, { method: 'POST', headers: s.auth('inference'), body: text });
        assert.equal(plain.status, 200);
        assert.equal(await plain.text(), ranked[0]![0], text);
        const json = await fetch(`${s.inferenceUrl}/predictions/${c.mar}`, {
          method: 'POST', headers: { ...s.auth('inference'), 'Content-Type': 'application/json' }, body: JSON.stringify({ text, top_k: 3 }),
        });
        const scored = (await json.json()) as Array<{ label: string; score: number }>;
        assert.deepEqual(scored.map((x) => x.label), ranked.map(([l]) => l), text);
        for (const [i, [label, p]] of ranked.entries()) assert.ok(Math.abs(scored[i]!.score - p) < TOLERANCE, `${text} ${label}: ${scored[i]!.score} vs ${p}`);
        tops.add(ranked[0]![0]);
      }
      assert.ok(tops.size >= 2, 'the texts get different labels');
      if (c.mar === 'bert_st') {
        const described = (await (await fetch(`${s.managementUrl}/models/${c.mar}`, { headers: s.auth('management') })).json()) as Array<{ batchSize: number; maxBatchDelay: number }>;
        assert.deepEqual([described[0]!.batchSize, described[0]!.maxBatchDelay], [4, 20], 'the archive\'s model-config.yaml settings are kept');
      }
    });
  }

  it('refuses a Hugging Face archive of another mode, saying why, and writes nothing', async () => {
    writeFileSync(path.join(dir, 'setup_token.json'), JSON.stringify({ mode: 'token_classification', save_mode: 'pretrained', max_length: '24' }));
    const { copyFile } = await import('node:fs/promises');
    await copyFile(path.join(dir, 'setup_token.json'), path.join(dir, 'Transformer_model', 'setup_config.json'));
    await cli('archiver', ['--model-name', 'bert_ner', '--version', '1.0', '--serialized-file', 'Transformer_model/pytorch_model.bin',
      '--handler', './Transformer_handler_generalized.py', '--export-path', 'old', '--extra-files',
      'Transformer_model/config.json,Transformer_model/setup_config.json,Transformer_model/vocab.txt,Transformer_model/tokenizer_config.json']);
    const r = await cli('migrate', ['old/bert_ner.mar', '--export-path', 'new']).then(
      () => assert.fail('expected exit 1'),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the archive's Hugging Face mode is "token_classification": ortserve-migrate converts sequence_classification/);
    assert.ok(!existsSync(path.join(dir, 'new', 'bert_ner.mar')));
  });
});
