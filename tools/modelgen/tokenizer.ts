/**
 * WordPiece vocabularies and Hugging Face tokenizer files (`tokenizer.json` of a `BertTokenizerFast`,
 * `tokenizer_config.json`) for generated models. The normalisation and pre-tokenisation below mirror
 * BertNormalizer (lowercase, strip accents) and BertPreTokenizer (split on whitespace and punctuation),
 * so that pieces chosen from the corpus are the ones the real tokenizer will look up.
 */

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/** ASCII punctuation plus Unicode punctuation: what BertPreTokenizer splits off as single tokens. */
const PUNCT = '\\p{P}\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E';
const PRE_TOKEN = new RegExp(`[^\\s${PUNCT}]+|[${PUNCT}]`, 'gu');
const IS_PUNCT = new RegExp(`^[${PUNCT}]$`, 'u');

/** BertNormalizer with lowercase=true, strip_accents=null (accents stripped when lowercasing). */
export function normalizeBert(text: string): string {
  let cleaned = '';
  for (const ch of text) {
    if (ch === '\u0000' || ch === '\ufffd') continue;
    if (/\s/u.test(ch)) cleaned += ' ';
    else if (!/[\p{Cc}\p{Cf}]/u.test(ch)) cleaned += ch;
  }
  return cleaned.toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, '');
}

/** BertPreTokenizer: words and single punctuation characters. */
export function preTokenizeBert(normalized: string): string[] {
  return normalized.match(PRE_TOKEN) ?? [];
}

const BASE_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789' + '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/**
 * A lower-cased WordPiece vocabulary of exactly `size` entries: the special tokens ([PAD]=0, [UNK]=1,
 * [CLS]=2, [SEP]=3, [MASK]=4), then every character (and its `##` continuation) so that any text
 * tokenizes without [UNK], then frequent words and word pieces of `texts`, then `[unusedN]` filler
 * (as BERT's vocab has) when the texts do not offer enough pieces.
 */
export function buildVocab(texts: Iterable<string>, size: number): string[] {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const word of preTokenizeBert(normalizeBert(text))) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  const vocab: string[] = [...SPECIAL_TOKENS];
  const seen = new Set<string>(vocab);
  const add = (token: string): void => {
    if (vocab.length < size && !seen.has(token)) {
      seen.add(token);
      vocab.push(token);
    }
  };

  const chars = new Set<string>(BASE_CHARS);
  for (const word of counts.keys()) for (const ch of word) chars.add(ch);
  const sortedChars = [...chars].sort();
  for (const ch of sortedChars) add(ch);
  for (const ch of sortedChars) if (!IS_PUNCT.test(ch)) add(`##${ch}`);

  // Candidates scored by how many characters they would cover; whole words count double, so that
  // frequent words become single tokens before their fragments do.
  const scores = new Map<string, number>();
  const bump = (token: string, score: number): void => {
    scores.set(token, (scores.get(token) ?? 0) + score);
  };
  for (const [word, n] of counts) {
    const letters = [...word];
    if (letters.length < 2) continue;
    bump(word, 2 * n * letters.length);
    for (let start = 0; start < letters.length; start++) {
      for (let len = 2; len <= 6 && start + len <= letters.length; len++) {
        if (start === 0 && len === letters.length) continue;
        const piece = letters.slice(start, start + len).join('');
        bump(start === 0 ? piece : `##${piece}`, n * len);
      }
    }
  }
  const ranked = [...scores.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [token] of ranked) {
    if (vocab.length >= size) break;
    add(token);
  }
  for (let i = 0; vocab.length < size; i++) add(`[unused${i}]`);
  return vocab;
}

export interface TokenizerFileOptions {
  doLowerCase?: boolean;
  modelMaxLength?: number;
}

export interface AddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** The `tokenizer.json` of a BertTokenizerFast (HF tokenizers format, version 1.0). */
export interface TokenizerJson {
  version: '1.0';
  truncation: null;
  padding: null;
  added_tokens: AddedToken[];
  normalizer: { type: 'BertNormalizer'; clean_text: boolean; handle_chinese_chars: boolean; strip_accents: boolean | null; lowercase: boolean };
  pre_tokenizer: { type: 'BertPreTokenizer' };
  post_processor: {
    type: 'TemplateProcessing';
    single: TemplatePiece[];
    pair: TemplatePiece[];
    special_tokens: Record<string, { id: string; ids: number[]; tokens: string[] }>;
  };
  decoder: { type: 'WordPiece'; prefix: string; cleanup: boolean };
  model: {
    type: 'WordPiece';
    unk_token: string;
    continuing_subword_prefix: string;
    max_input_chars_per_word: number;
    vocab: Record<string, number>;
  };
}

type TemplatePiece = { SpecialToken: { id: string; type_id: number } } | { Sequence: { id: 'A' | 'B'; type_id: number } };

/** `tokenizer_config.json` as transformers writes it for a BERT tokenizer. */
export interface TokenizerConfig {
  added_tokens_decoder: Record<string, Omit<AddedToken, 'id'>>;
  clean_up_tokenization_spaces: boolean;
  cls_token: string;
  do_lower_case: boolean;
  mask_token: string;
  model_max_length: number;
  pad_token: string;
  sep_token: string;
  strip_accents: null;
  tokenize_chinese_chars: boolean;
  tokenizer_class: 'BertTokenizer';
  unk_token: string;
}

/** Builds `tokenizer.json` and `tokenizer_config.json` for a WordPiece vocabulary. */
export function buildTokenizerFiles(
  vocab: readonly string[],
  options: TokenizerFileOptions = {},
): { tokenizerJson: TokenizerJson; tokenizerConfig: TokenizerConfig } {
  const doLowerCase = options.doLowerCase ?? true;
  const modelMaxLength = options.modelMaxLength ?? 512;
  const ids: Record<string, number> = {};
  vocab.forEach((token, id) => {
    ids[token] = id;
  });
  const idOf = (token: string): number => {
    const id = ids[token];
    if (id === undefined) throw new Error(`the vocabulary has no ${token} token`);
    return id;
  };
  const added: AddedToken[] = SPECIAL_TOKENS.map((content) => ({
    id: idOf(content),
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  })).sort((a, b) => a.id - b.id);

  const special = (id: string, typeId: number): TemplatePiece => ({ SpecialToken: { id, type_id: typeId } });
  const sequence = (id: 'A' | 'B', typeId: number): TemplatePiece => ({ Sequence: { id, type_id: typeId } });
  const tokenizerJson: TokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: doLowerCase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0)],
      pair: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0), sequence('B', 1), special('[SEP]', 1)],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [idOf('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [idOf('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: ids },
  };
  const tokenizerConfig: TokenizerConfig = {
    added_tokens_decoder: Object.fromEntries(added.map(({ id, ...rest }) => [String(id), rest])),
    clean_up_tokenization_spaces: true,
    cls_token: '[CLS]',
    do_lower_case: doLowerCase,
    mask_token: '[MASK]',
    model_max_length: modelMaxLength,
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer',
    unk_token: '[UNK]',
  };
  return { tokenizerJson, tokenizerConfig };
}
