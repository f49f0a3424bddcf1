/**
 * `npm run train:taxonomy`: splits the listings (70/15/15, stratified), trains the taxonomy and music
 * sub-taxonomy models and prints their metrics on test (with `--cv`, 5-fold cross-validation on
 * train + validation first, by language too).
 * `npm run build:models`: the same, then writes model-store/taxonomy.mar, music_subtaxonomy.mar and
 * events.mar with the archiver's own code, and model-store/events_workflow.war with the workflow archiver's.
 *
 * Everything is deterministic (seeded split and training, fixed archive dates), so rebuilding from
 * unchanged data gives the same models.
 */
import { cpSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createArchive } from '../../src/archive/writer.js';
import { createWorkflowArchive } from '../../src/workflows/writer.js';
import { formatSummaryTable } from './report.js';
import { readExtraTrainListings, readListings, SPLITS } from './dataset.js';
import { splitListings, writeSplits } from './split.js';
import { loadEncoder, MAX_LENGTH, MUSIC_SUBTAXONOMY, TAXONOMY, trainModel, writeModelDir, type TrainedModel } from './train.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WORK = path.join(ROOT, '.build', 'taxonomy');
const ARCHIVE_DATE = new Date('2025-08-01T00:00:00Z');
const MODEL_FILES = ['tokenizer.json', 'tokenizer_config.json', 'config.json', 'index_to_name.json'];

/** Zip entries carry their files' mtimes: pinning them makes a rebuild byte-identical. */
function pinTimes(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) utimesSync(path.join(entry.parentPath, entry.name), ARCHIVE_DATE, ARCHIVE_DATE);
  }
}

async function archive(name: string, handler: string, dir: string, extraFiles: string[], serialized: string | null, store: string): Promise<string> {
  pinTimes(dir);
  const { outputPath } = await createArchive({
    modelName: name,
    version: '1.0',
    handler,
    serializedFile: serialized,
    extraFiles: extraFiles.join(','),
    configFile: path.join(dir, 'model-config.yaml'),
    exportPath: store,
    force: true,
    now: ARCHIVE_DATE,
  });
  return outputPath;
}

async function writeArchives(models: TrainedModel[], store: string): Promise<string[]> {
  const out: string[] = [];
  for (const t of models) {
    const dir = path.join(WORK, t.spec.name);
    out.push(await archive(t.spec.name, 'text_classifier', dir, MODEL_FILES.map((f) => path.join(dir, f)), path.join(dir, 'model.onnx'), store));
  }
  // events.mar: both model folders side by side, and the events handler.
  const events = path.join(WORK, 'events');
  const contents = path.join(events, 'contents');
  rmSync(events, { recursive: true, force: true });
  for (const t of models) cpSync(path.join(WORK, t.spec.name), path.join(contents, t.spec.name), { recursive: true });
  for (const t of models) rmSync(path.join(contents, t.spec.name, 'model-config.yaml'));
  const yaml = ['batchSize: 8', 'maxBatchDelay: 10', 'handler:'];
  for (const t of models) {
    yaml.push(`  ${t.spec.name}:`, `    max_length: ${MAX_LENGTH}`);
  }
  writeFileSync(path.join(events, 'model-config.yaml'), `${yaml.join('\n')}\n`);
  // The handler is archived from the work dir, so that its time can be pinned too.
  cpSync(path.join(ROOT, 'handlers', 'events.ts'), path.join(events, 'events.ts'));
  out.push(await archive('events', path.join(events, 'events.ts'), events, [contents], null, store));
  out.push(await writeEventsWorkflow(store));
  return out;
}

/**
 * events_workflow.war: the same answers as events.mar from taxonomy.mar and music_subtaxonomy.mar, as a
 * workflow (examples/workflows/events). Its files are copied to the work dir so that their times can be pinned.
 */
async function writeEventsWorkflow(store: string): Promise<string> {
  const dir = path.join(WORK, 'events_workflow');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of ['workflow.yaml', 'workflow_handler.ts']) cpSync(path.join(ROOT, 'examples', 'workflows', 'events', f), path.join(dir, f));
  pinTimes(dir);
  const { outputPath } = await createWorkflowArchive({
    workflowName: 'events_workflow',
    specFile: path.join(dir, 'workflow.yaml'),
    handler: path.join(dir, 'workflow_handler.ts'),
    exportPath: store,
    force: true,
    now: ARCHIVE_DATE,
  });
  return outputPath;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      archives: { type: 'boolean', default: false },
      cv: { type: 'boolean', default: false },
      store: { type: 'string' },
      'no-extra': { type: 'boolean', default: false },
      'spanish-weight': { type: 'string' },
    },
  });
  const started = Date.now();
  const splits = splitListings(readListings());
  writeSplits(splits);
  // --no-extra leaves out the listings written only for training, to measure what they add.
  if (values['no-extra'] && values.archives) throw new Error('--no-extra measures; it does not go with --archives');
  const extra = values['no-extra'] ? [] : readExtraTrainListings();
  console.log(`listings: ${SPLITS.map((s) => `${s} ${splits[s].length}`).join(', ')}, extra training ${extra.length}`);

  rmSync(WORK, { recursive: true, force: true });
  const encoder = loadEncoder(WORK);
  const models: TrainedModel[] = [];
  // --spanish-weight: another weight than the bundled one, to measure it (not with --archives).
  const weight = values['spanish-weight'] === undefined ? null : Number(values['spanish-weight']);
  if (weight !== null && (!Number.isInteger(weight) || weight < 1 || values.archives)) throw new Error('--spanish-weight takes a positive integer, and not with --archives');
  for (const spec of [TAXONOMY, MUSIC_SUBTAXONOMY]) models.push(await trainModel(weight === null ? spec : { ...spec, spanishWeight: weight }, encoder, splits, values.cv, extra));
  for (const t of models) {
    writeModelDir(path.join(WORK, t.spec.name), encoder, t);
    console.log(`\n${t.spec.name}: ${t.labels.length} labels, trained on train + validation`);
    const rows = [...(t.crossValidation ? [{ name: '5-fold CV (train + validation)', ...t.crossValidation }] : []), { name: 'test', ...t.predictions.test }];
    const byLang = rows.flatMap((r) => [r, ...(['en', 'es'] as const).map((lang) => ({ name: `${r.name}, ${lang}`, actual: r.actual.filter((_, i) => r.langs[i] === lang), predicted: r.predicted.filter((_, i) => r.langs[i] === lang) }))]);
    console.log(formatSummaryTable(byLang));
  }
  if (values.archives) {
    const store = path.resolve(values.store ?? path.join(ROOT, 'model-store'));
    mkdirSync(store, { recursive: true });
    for (const file of await writeArchives(models, store)) console.log(`wrote ${path.relative(process.cwd(), file)}`);
  }
  console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.stack : err);
      process.exit(1);
    },
  );
}
