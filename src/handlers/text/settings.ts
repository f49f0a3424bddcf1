/**
 * Settings of the text classifier and the model facts they depend on. TorchServe's Hugging Face
 * handler reads `setup_config.json` from the model dir (older archives) or the model-config.yaml
 * `handler:` section; both are accepted here, the YAML winning key by key. Values may be strings
 * ("150", "true") as in TorchServe's setup_config examples.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface TextSettings {
  /** Truncation length in tokens, special tokens included. */
  maxLength?: number;
  /** Overrides the tokenizer's own lower-casing. */
  doLowerCase?: boolean;
  /** `transliterate_accents`: accented letters without their accents, before any cleaning. */
  transliterate?: boolean;
  /** `clean_text`: the taxonomy handler's cleaning (event-cleaning.ts). */
  cleanText?: boolean;
  /** `keep_sentences`: keep the first n and last n sentences. */
  keepSentences?: number;
}

/** Reads a JSON file of the model dir, or null when it does not exist. */
export function readJsonFile(modelDir: string, name: string): unknown {
  const file = path.join(modelDir, name);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${name} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parsePositiveInt(key: string, value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new Error(`handler setting ${key} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return n;
}

function parseBoolean(key: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  const s = String(value).trim().toLowerCase();
  if (s === 'true' || s === '1' || s === 'yes') return true;
  if (s === 'false' || s === '0' || s === 'no') return false;
  throw new Error(`handler setting ${key} must be a boolean, got ${JSON.stringify(value)}`);
}

/** Merges setup_config.json and the YAML `handler:` section (YAML wins) into typed settings. */
export function readTextSettings(modelDir: string, modelYamlConfig: Record<string, unknown>): TextSettings {
  const setup = readJsonFile(modelDir, 'setup_config.json');
  const yaml = modelYamlConfig['handler'];
  const merged: Record<string, unknown> = { ...(isRecord(setup) ? setup : {}), ...(isRecord(yaml) ? yaml : {}) };
  const settings: TextSettings = {};
  if (merged['max_length'] !== undefined && merged['max_length'] !== null) {
    settings.maxLength = parsePositiveInt('max_length', merged['max_length']);
  }
  if (merged['do_lower_case'] !== undefined && merged['do_lower_case'] !== null) {
    settings.doLowerCase = parseBoolean('do_lower_case', merged['do_lower_case']);
  }
  if (merged['transliterate_accents'] !== undefined && merged['transliterate_accents'] !== null) {
    settings.transliterate = parseBoolean('transliterate_accents', merged['transliterate_accents']);
  }
  if (merged['clean_text'] !== undefined && merged['clean_text'] !== null) {
    settings.cleanText = parseBoolean('clean_text', merged['clean_text']);
  }
  if (merged['keep_sentences'] !== undefined && merged['keep_sentences'] !== null) {
    settings.keepSentences = parsePositiveInt('keep_sentences', merged['keep_sentences']);
  }
  return settings;
}

/** What config.json tells the handler: position limit and id2label. */
export interface ModelFacts {
  maxPosition: number | null;
  id2label: Record<string, string> | null;
}

export function readModelFacts(modelDir: string): ModelFacts {
  const config = readJsonFile(modelDir, 'config.json');
  if (!isRecord(config)) return { maxPosition: null, id2label: null };
  const positions = config['max_position_embeddings'];
  const id2label = config['id2label'];
  return {
    maxPosition: typeof positions === 'number' && positions > 0 ? positions : null,
    id2label: isRecord(id2label) ? Object.fromEntries(Object.entries(id2label).map(([k, v]) => [k, String(v)])) : null,
  };
}

/**
 * The truncation length: the configured `max_length`, else the tokenizer's `model_max_length`, else
 * 512; always capped at the model's position table, since a longer input would fail in the
 * position-embedding lookup instead of being truncated.
 */
export function resolveMaxLength(configured: number | undefined, tokenizerMax: number | null, maxPosition: number | null): number {
  const cap = maxPosition ?? Infinity;
  // HF writes model_max_length = 1e30 when a tokenizer has no limit; treat that as "unknown".
  const fromTokenizer = tokenizerMax !== null && tokenizerMax > 0 && tokenizerMax < 1e9 ? tokenizerMax : null;
  const wanted = configured ?? fromTokenizer ?? 512;
  return Math.min(wanted, cap);
}
