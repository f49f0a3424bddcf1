/**
 * Expected answers for ortserve's conformance data files, computed without ortserve: the archive's own
 * tokenizer (@huggingface/transformers, built from its tokenizer.json) and ONNX Runtime on its model.onnx,
 * argmax over the logits, the label from its index_to_name.json. The inputs (inputs/*.txt) are already in
 * the form the archive's text preparation (clean_text: lower-case ASCII words, `.` and `,`) leaves them,
 * so no preparation is needed here.
 *
 * `node dist/test/conformance/reference.js` prints the labels; the runner checks them against the
 * committed data files before it runs anything (checkReferenceData).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import AdmZip from 'adm-zip';
import { PreTrainedTokenizer, env } from '@huggingface/transformers';
import ort from 'onnxruntime-node';

env.allowRemoteModels = false;

/** input file name (inputs/…) → label. */
export async function referenceLabels(inputsDir: string, marFile: string): Promise<Map<string, string>> {
  const zip = new AdmZip(marFile);
  const entry = (name: string): Buffer => {
    const e = zip.getEntry(name);
    if (!e) throw new Error(`${marFile} has no ${name}`);
    return e.getData();
  };
  const json = (name: string): Record<string, unknown> => JSON.parse(entry(name).toString('utf8')) as Record<string, unknown>;
  const tokenizer = new PreTrainedTokenizer(json('tokenizer.json'), json('tokenizer_config.json'));
  const labels = json('index_to_name.json') as Record<string, string>;
  const session = await ort.InferenceSession.create(entry('model.onnx'));
  const out = new Map<string, string>();
  for (const file of readdirSync(inputsDir).filter((f) => f.endsWith('.txt')).sort()) {
    const text = readFileSync(path.join(inputsDir, file), 'utf8').trim();
    const ids = tokenizer.encode(text);
    const feeds: Record<string, ort.Tensor> = {};
    const tensor = (values: number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), [1, values.length]);
    for (const name of session.inputNames) {
      if (name === 'input_ids') feeds[name] = tensor(ids);
      else if (name === 'attention_mask') feeds[name] = tensor(ids.map(() => 1));
      else if (name === 'token_type_ids') feeds[name] = tensor(ids.map(() => 0));
      else throw new Error(`unexpected model input ${name}`);
    }
    const logits = (await session.run(feeds))[session.outputNames.includes('logits') ? 'logits' : session.outputNames[0]!]!.data as Float32Array;
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
    out.set(file, labels[String(best)] ?? String(best));
  }
  await session.release();
  return out;
}


/**
 * Fails when a committed data file expects, for one of inputs/*.txt, another label than the reference
 * computes, or when the inputs do not get at least two different labels (a body check that could not fail).
 */
export async function checkReferenceData(conformanceDir: string, marFile: string): Promise<void> {
  const labels = await referenceLabels(path.join(conformanceDir, 'inputs'), marFile);
  if (new Set(labels.values()).size < 2) throw new Error(`The reference gives one label to every input: ${[...labels.values()]}`);
  const problems: string[] = [];
  for (const file of readdirSync(path.join(conformanceDir, 'data')).filter((f) => f.endsWith('.json'))) {
    const rows = JSON.parse(readFileSync(path.join(conformanceDir, 'data', file), 'utf8')) as Array<Record<string, unknown>>;
    rows.forEach((row, i) => {
      const input = typeof row['file'] === 'string' ? path.basename(row['file']) : null;
      const label = input ? labels.get(input) : undefined;
      if (!label || !('expected' in row)) return;
      const text = JSON.stringify(row['expected']);
      if (!text.includes(JSON.stringify(label)) && row['expected'] !== label) {
        problems.push(`data/${file} row ${i + 1} (${input}) expects ${text}, the reference says ${label}`);
      }
    });
  }
  if (problems.length) throw new Error(`Data files disagree with the reference computation:\n${problems.join('\n')}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const src = path.resolve(here, '../../../test/conformance');
  for (const [file, label] of await referenceLabels(path.join(src, 'inputs'), path.resolve(src, '../../model-store/taxonomy.mar'))) {
    console.log(`${file}\t${label}`);
  }
}
