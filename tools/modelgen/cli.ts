#!/usr/bin/env node
/**
 * Generates a random-weight DistilBERT classifier directory.
 *
 *   node dist/tools/modelgen/cli.js --out DIR [--preset tiny|base] [--layers N] [--hidden N] [--heads N]
 *     [--ffn N] [--vocab-size N] [--max-position N] [--labels a,b,c] [--seed N] [--dtype fp32|int8]
 *     [--corpus file.txt] [--model-file model.onnx] [--index-to-name] [--vocab-txt]
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { PRESETS, type ModelDtype } from './distilbert.js';
import { writeModelDir, type ModelDirOptions } from './model-dir.js';

const USAGE = `usage: modelgen --out DIR [--preset tiny|base] [--layers N] [--hidden N] [--heads N] [--ffn N]
       [--vocab-size N] [--max-position N] [--labels a,b,c] [--seed N] [--dtype fp32|int8]
       [--corpus file.txt] [--model-file NAME] [--index-to-name] [--vocab-txt]`;

function nonNegativeInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${value}`);
  return n;
}

/** Parses the command line into writeModelDir options. */
export async function parseCli(argv: string[]): Promise<{ out: string; options: ModelDirOptions }> {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      preset: { type: 'string' },
      layers: { type: 'string' },
      hidden: { type: 'string' },
      heads: { type: 'string' },
      ffn: { type: 'string' },
      'vocab-size': { type: 'string' },
      'max-position': { type: 'string' },
      labels: { type: 'string' },
      seed: { type: 'string' },
      dtype: { type: 'string' },
      corpus: { type: 'string' },
      'model-file': { type: 'string' },
      'index-to-name': { type: 'boolean' },
      'vocab-txt': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help || !values.out) throw new Error(USAGE);
  const preset = values.preset ?? 'tiny';
  if (preset !== 'tiny' && preset !== 'base') throw new Error(`--preset must be tiny or base, got ${preset}`);
  const dtype = values.dtype ?? 'fp32';
  if (dtype !== 'fp32' && dtype !== 'int8') throw new Error(`--dtype must be fp32 or int8, got ${dtype}`);
  const labels = (values.labels ?? 'Not Accepted,Accepted').split(',').map((l) => l.trim()).filter((l) => l !== '');
  if (labels.length === 0) throw new Error('--labels needs at least one label');
  const corpus = values.corpus ? (await readFile(values.corpus, 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '') : undefined;
  const options: ModelDirOptions = {
    preset: preset as keyof typeof PRESETS,
    labels,
    layers: nonNegativeInt('layers', values.layers),
    hidden: nonNegativeInt('hidden', values.hidden),
    heads: nonNegativeInt('heads', values.heads),
    ffn: nonNegativeInt('ffn', values.ffn),
    vocabSize: nonNegativeInt('vocab-size', values['vocab-size']),
    maxPosition: nonNegativeInt('max-position', values['max-position']),
    seed: nonNegativeInt('seed', values.seed) ?? 0,
    dtype: dtype as ModelDtype,
    corpus,
    modelFileName: values['model-file'],
    withIndexToName: values['index-to-name'] ?? false,
    withVocabTxt: values['vocab-txt'] ?? false,
  };
  return { out: values.out, options };
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

export async function main(argv: string[]): Promise<number> {
  let parsed: { out: string; options: ModelDirOptions };
  try {
    parsed = await parseCli(argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const started = performance.now();
  let summary: Awaited<ReturnType<typeof writeModelDir>>;
  try {
    summary = await writeModelDir(parsed.out, parsed.options);
  } catch (err) {
    process.stderr.write(`modelgen: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const o = summary.options;
  process.stdout.write(
    `DistilBERT ${o.dtype ?? 'fp32'}: ${o.layers} layers, hidden ${o.hidden}, ${o.heads} heads, ffn ${o.ffn}, ` +
      `vocab ${o.vocabSize}, ${o.maxPosition} positions, ${o.numLabels} labels, seed ${o.seed ?? 0}\n` +
      `parameters: ${summary.parameters.toLocaleString('en-US')}\n` +
      `wrote ${summary.dir} in ${seconds} s:\n`,
  );
  for (const [name, size] of Object.entries(summary.files)) process.stdout.write(`  ${name.padEnd(22)} ${formatBytes(size)}\n`);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
