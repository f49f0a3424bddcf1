/** The benchmark corpus: bench/corpus/events.txt, one event description per line. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The source tree's corpus file (the compiled code lives in dist/bench/, the text stays in bench/). */
export const CORPUS_FILE = fileURLToPath(new URL('../../../bench/corpus/events.txt', import.meta.url));

/** The project root (where package.json and dist/ are). */
export const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function loadCorpus(file = CORPUS_FILE): string[] {
  const lines = readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length === 0) throw new Error(`${file} has no lines`);
  return lines;
}

/** Truncation length of every benchmark model (model-config.yaml `handler: {max_length: 210}`). */
export const MAX_LENGTH = 210;

/** The leisure-event taxonomy the generated classifiers pretend to predict (random weights). */
export const LABELS: readonly string[] = [
  'concerts',
  'theatre',
  'exhibitions',
  'sports',
  'food_drink',
  'family',
  'festivals_nightlife',
  'tours_outdoors',
];
