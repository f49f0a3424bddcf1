/**
 * The text preparation of the original taxonomy classifier's TorchServe handler, as an option of the
 * text classifier (`handler: {clean_text: true, keep_sentences: 2}` in model-config.yaml):
 *
 * - `clean_text`: drop words with non-ASCII characters, e-mail handles and URLs; drop punctuation
 *   other than `.` and `,`; lower-case; collapse white space.
 * - `keep_sentences: n`: keep the first n and the last n sentences when there are at least 2n.
 *
 * Listings put their logistics (prices, booking e-mails, URLs) at the end and their subject at the
 * start, so both steps keep the words that name the kind of event.
 */

/** How a text is prepared before tokenization. */
export interface TextPreparation {
  /**
   * `transliterate_accents`: spell accented letters without their accents (é → e, ñ → n) and turn other
   * non-ASCII characters («, €, –) into spaces, before any cleaning; with clean_text, words with accents
   * are then kept instead of dropped.
   */
  transliterate?: boolean;
  cleanText: boolean;
  /** n: keep the first n and last n sentences of a text with at least 2n; null keeps them all. */
  keepSentences: number | null;
}

export const NO_PREPARATION: TextPreparation = { cleanText: false, keepSentences: null };

const EMAIL = /@/;
// Scheme or www. URLs, and bare domains with a path or a letter TLD (festival.example.es/entradas).
const URL_LIKE = /^(?:[a-z][a-z0-9+.-]*:\/\/|www\.)|^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?:[/?#:]|$)/i;
// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;
const PUNCTUATION = /[^a-z0-9\s.,]/gi;

/** A dropped word still ends its sentence or clause: keep its trailing `.` or `,`. */
function trailingMark(word: string): string {
  const m = /([.,])[^a-z0-9]*$/i.exec(word);
  return m ? m[1]! : '';
}

function stripWrapping(word: string): string {
  return word.replace(/^[^a-z0-9]+|[^a-z0-9/]+$/gi, '');
}

export function cleanEventText(text: string): string {
  const kept: string[] = [];
  for (const word of text.split(/\s+/)) {
    if (word === '') continue;
    const core = stripWrapping(word);
    if (NON_ASCII.test(word) || EMAIL.test(word) || URL_LIKE.test(core)) {
      const mark = trailingMark(word);
      if (mark && kept.length > 0) kept[kept.length - 1] += mark;
      continue;
    }
    const cleaned = word.replace(PUNCTUATION, '');
    if (cleaned !== '') kept.push(cleaned.toLowerCase());
  }
  return (
    kept
      .join(' ')
      // Marks left alone by dropped words join the word before; a full stop wins over a comma.
      .replace(/\s+(?=[.,])/g, '')
      .replace(/[.,]*\.[.,]*/g, '.')
      .replace(/,,+/g, ',')
      .replace(/^[.,\s]+/, '')
      .trim()
  );
}

/** Sentences end at a `.` followed by white space (a `.` inside `10.30` or `p.m` does not end one). */
export function splitSentences(text: string): string[] {
  return text
    .split(/(?<=\.)\s+/)
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== '.');
}

export function keepFirstAndLastSentences(text: string, n: number): string {
  const sentences = splitSentences(text);
  if (sentences.length < 2 * n) return text;
  return [...sentences.slice(0, n), ...sentences.slice(-n)].join(' ');
}

export function transliterateAccents(text: string): string {
  // NFKD splits a letter from its accents (and ligatures, full-width forms into ASCII); the marks go.
  // eslint-disable-next-line no-control-regex
  return text.normalize('NFKD').replace(/\p{M}+/gu, '').replace(/[^\x00-\x7f]/g, ' ');
}

export function prepareText(text: string, p: TextPreparation): string {
  let out = p.transliterate ? transliterateAccents(text) : text;
  out = p.cleanText ? cleanEventText(out) : out;
  if (p.keepSentences !== null) out = keepFirstAndLastSentences(out, p.keepSentences);
  return out;
}
