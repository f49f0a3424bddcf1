#!/usr/bin/env node
/**
 * ortserve-migrate OLD.mar: converts a TorchServe archive of a torchvision-style image classifier,
 * segmenter or detector (eager --model-file + state dict, or TorchScript) into an ortserve archive with
 * the same built-in handler, or one of a Hugging Face sequence classifier (TorchServe's Transformer
 * handler) into a text_classifier archive, and checks that ortserve answers the archive's sample images
 * or texts as TorchServe does with the original model. PyTorch does the export (tools/migrate/ortserve_migrate.py, run with
 * python3 or $ORTSERVE_PYTHON); docs/migrating-from-torchserve.md explains the rest.
 *
 * Exit codes: 0 converted and equal within the tolerance, 1 not convertible or different, 2 usage.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { detectArchiveKind, extractArchive } from '../archive/extract.js';
import { createArchive } from '../archive/writer.js';
import { runIfEntryPoint } from './entry-point.js';
import { checkMigration } from './migrate-check.js';

const SCRIPT = fileURLToPath(new URL('../../../tools/migrate/ortserve_migrate.py', import.meta.url));
const USAGE = `usage: ortserve-migrate OLD.mar [--export-path DIR] [--model-name NAME] [--sample FILE]... [--tolerance T] [-f]

Converts a TorchServe archive (image_classifier, image_segmenter or object_detector; eager model file +
state dict, or TorchScript; or a Hugging Face sequence classifier with setup_config.json) into an ortserve
archive, and checks that ortserve's answers on the archive's sample images or texts (and --sample files)
equal the original model's within the tolerance (default 1e-4).
Needs Python 3 with torch, torchvision and PIL, or torch and transformers for a Hugging Face archive
(python3, or the interpreter in $ORTSERVE_PYTHON).
`;

export interface MigrateIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: MigrateIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

export async function main(argv: string[], io: MigrateIo = defaultIo): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (err) {
    io.err(`${USAGE}ortserve-migrate: error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  if (args.values.help) {
    io.out(USAGE);
    return 0;
  }
  if (args.positionals.length !== 1) {
    io.err(`${USAGE}ortserve-migrate: error: give exactly one TorchServe archive\n`);
    return 2;
  }
  const source = path.resolve(args.positionals[0]!);
  const tolerance = Number(args.values.tolerance ?? '1e-4');
  if (!(tolerance >= 0)) {
    io.err(`ortserve-migrate: error: --tolerance must be a non-negative number\n`);
    return 2;
  }
  const work = mkdtempSync(path.join(os.tmpdir(), 'ortserve-migrate-'));
  try {
    const extracted = path.join(work, 'archive');
    const converted = path.join(work, 'converted');
    await import('node:fs/promises').then((fs) => fs.mkdir(extracted));
    await extractArchive(source, extracted, await detectArchiveKind(source));
    const python = process.env['ORTSERVE_PYTHON'] ?? 'python3';
    const samples = (args.values.sample ?? []).flatMap((s) => ['--sample', path.resolve(s)]);
    const run = spawnSync(python, [SCRIPT, extracted, converted, ...samples], { encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] });
    if (run.error || run.status !== 0) {
      const detail = run.error ? `${python}: ${run.error.message}` : run.stderr.trim().split('\n').slice(-3).join('\n');
      io.err(`ortserve-migrate: the PyTorch export failed: ${detail}\n`);
      if (/No module named '(torch|torchvision|PIL)'/.test(detail)) {
        io.err('ortserve-migrate: install PyTorch for python3 (Debian: apt-get install python3-torch python3-torchvision python3-pil), or set ORTSERVE_PYTHON\n');
      }
      if (/No module named 'transformers'/.test(detail)) {
        io.err('ortserve-migrate: a Hugging Face archive needs transformers (pip install transformers), or set ORTSERVE_PYTHON\n');
      }
      return 1;
    }
    const { check, results } = await checkMigration(converted);
    let failed = false;
    for (const r of results) {
      const ok = r.mismatch === null && r.difference <= tolerance;
      failed ||= !ok;
      io.out(`${ok ? 'same' : 'DIFFERENT'}: ${r.image}: ${r.mismatch ?? `largest difference ${r.difference.toExponential(2)}`}\n`);
    }
    if (failed) {
      io.err(`ortserve-migrate: ortserve's answers differ from the original model's (tolerance ${tolerance}); no archive written\n`);
      return 1;
    }
    const name = args.values['model-name'] ?? check.modelName;
    const { outputPath } = await createArchive({
      modelName: name,
      version: check.modelVersion,
      handler: check.handler,
      serializedFile: path.join(converted, 'model.onnx'),
      extraFiles: check.files.map((f) => path.join(converted, f)).join(',') || null,
      // The converter writes model-config.yaml when it derives one (a Hugging Face setup_config.json).
      configFile: [converted, extracted].map((d) => path.join(d, 'model-config.yaml')).find((f) => existsSync(f)) ?? null,
      exportPath: path.resolve(args.values['export-path'] ?? '.'),
      force: args.values.force === true,
      onWarning: (m) => io.err(`WARNING - ${m}\n`),
    });
    io.out(`Wrote ${outputPath} (${check.handler}, from the PyTorch model (${check.model}); ${results.length} sample${results.length === 1 ? '' : 's'} checked)\n`);
    return 0;
  } catch (err) {
    io.err(`ortserve-migrate: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'export-path': { type: 'string' },
      'model-name': { type: 'string' },
      sample: { type: 'string', multiple: true },
      tolerance: { type: 'string' },
      force: { type: 'boolean', short: 'f' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

runIfEntryPoint(import.meta.url, main);
