/**
 * Loads a Hugging Face tokenizer from the model dir's own files, with @huggingface/transformers.
 * The tokenizer is constructed directly from the parsed `tokenizer.json` / `tokenizer_config.json`, so no
 * hub or cache lookup can happen (a server must never fetch files at run time), and `do_lower_case`
 * can be applied to the normalizer before construction.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PreTrainedTokenizer, env } from '@huggingface/transformers';
import { readJsonFile } from './settings.js';

// Belt and braces: nothing in this worker may reach the Hugging Face hub.
env.allowRemoteModels = false;

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Applies `do_lower_case` to a tokenizer.json normalizer. BertNormalizer has a `lowercase` flag (its
 * accent stripping follows it when `strip_accents` is null, as in HF); other normalizers get a
 * Lowercase step added or removed.
 */
export function withLowerCase(normalizer: unknown, lower: boolean): unknown {
  if (!isRecord(normalizer)) return lower ? { type: 'Lowercase' } : normalizer;
  if (normalizer['type'] === 'BertNormalizer') return { ...normalizer, lowercase: lower };
  if (normalizer['type'] === 'Lowercase') return lower ? normalizer : null;
  if (normalizer['type'] === 'Sequence' && Array.isArray(normalizer['normalizers'])) {
    const steps = (normalizer['normalizers'] as unknown[])
      .map((n) => (isRecord(n) && (n['type'] === 'BertNormalizer' || n['type'] === 'Lowercase') ? withLowerCase(n, lower) : n))
      .filter((n) => n !== null);
    const lowers = steps.some((n) => isRecord(n) && (n['type'] === 'Lowercase' || (n['type'] === 'BertNormalizer' && n['lowercase'] === true)));
    return { ...normalizer, normalizers: lower && !lowers ? [{ type: 'Lowercase' }, ...steps] : steps };
  }
  return lower ? { type: 'Sequence', normalizers: [normalizer, { type: 'Lowercase' }] } : normalizer;
}

/** A tokenizer that truncates the way HF's `truncation=True` does: content is cut, special tokens kept. */
export class TextTokenizer {
  readonly padTokenId: number;
  /** The unknown token's id, or null when the tokenizer has none (byte-level BPE). */
  readonly unkTokenId: number | null;
  /** tokenizer_config.json `model_max_length`, or null when absent. */
  readonly modelMaxLength: number | null;
  private readonly tokenizer: PreTrainedTokenizer;

  constructor(tokenizer: PreTrainedTokenizer, modelMaxLength: number | null) {
    this.tokenizer = tokenizer;
    this.modelMaxLength = modelMaxLength;
    // BERT-family pad id; 0 is what HF uses for [PAD] when a config names none.
    this.padTokenId = typeof tokenizer.pad_token_id === 'number' ? tokenizer.pad_token_id : 0;
    this.unkTokenId = typeof tokenizer.unk_token_id === 'number' ? tokenizer.unk_token_id : null;
  }

  /** Token ids with the model's special tokens, at most `maxLength` long (specials included). */
  encode(text: string, maxLength: number): number[] {
    const ids = this.tokenizer.encode(text);
    if (ids.length <= maxLength) return ids;
    // Find where the text's own tokens sit inside the template ([CLS] $A [SEP] → offset 1), then cut
    // them so that the template's tokens survive; slicing the full list would drop the final [SEP].
    const plain = this.tokenizer.encode(text, { add_special_tokens: false });
    const added = ids.length - plain.length;
    let offset = 0;
    for (let p = 0; p <= added; p++) {
      if (plain.every((id, i) => ids[p + i] === id)) {
        offset = p;
        break;
      }
    }
    const keep = Math.max(0, maxLength - added);
    return [...ids.slice(0, offset), ...plain.slice(0, keep), ...ids.slice(offset + plain.length)];
  }
}

/** Loads `tokenizer.json` (+ optional `tokenizer_config.json`) from the model dir. */
export function loadTextTokenizer(modelDir: string, options: { doLowerCase?: boolean } = {}): TextTokenizer {
  const file = path.join(modelDir, 'tokenizer.json');
  let tokenizerJson: Json;
  try {
    tokenizerJson = JSON.parse(readFileSync(file, 'utf8')) as Json;
  } catch (err) {
    throw new Error(`text_classifier needs tokenizer.json in the model directory: ${err instanceof Error ? err.message : String(err)}`);
  }
  const config = readJsonFile(modelDir, 'tokenizer_config.json');
  const tokenizerConfig: Json = isRecord(config) ? { ...config } : {};
  if (options.doLowerCase !== undefined) {
    tokenizerJson = { ...tokenizerJson, normalizer: withLowerCase(tokenizerJson['normalizer'] ?? null, options.doLowerCase) };
    tokenizerConfig['do_lower_case'] = options.doLowerCase;
  }
  // Without a tokenizer_config.json, take the pad/unk tokens from the tokenizer's own added tokens.
  if (tokenizerConfig['pad_token'] === undefined && Array.isArray(tokenizerJson['added_tokens'])) {
    const pad = (tokenizerJson['added_tokens'] as unknown[]).find((t) => isRecord(t) && t['content'] === '[PAD]');
    if (pad) tokenizerConfig['pad_token'] = '[PAD]';
  }
  const maxLen = tokenizerConfig['model_max_length'];
  return new TextTokenizer(new PreTrainedTokenizer(tokenizerJson, tokenizerConfig), typeof maxLen === 'number' ? maxLen : null);
}
