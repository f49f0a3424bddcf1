/**
 * The shell blocks of a Markdown file, as a reader copies them: their text, the marker that excludes a
 * block from the README run (`<!-- not run by test: why -->` right above it), and the output the text
 * promises for it (a "prints" paragraph followed by a JSON block).
 *
 * Parsed with marked's lexer, so that fences inside list items and HTML comments are read as any
 * Markdown renderer reads them.
 */
import { marked, type Token, type Tokens } from 'marked';

/** One shell block of the file, in document order. */
export interface ShellBlock {
  /** 1-based position among the file's shell blocks. */
  index: number;
  /** The block's text, as a reader would paste it. */
  script: string;
  /** The reason given by a `<!-- not run by test: … -->` marker right above the block, or null. */
  skip: string | null;
  /** The JSON the README says the block prints (a "prints" paragraph, then a json block), if any. */
  expectedJson: unknown;
}

/** An inline code span of the file's prose (e.g. a curl command written in a sentence). */
export interface InlineCommand {
  text: string;
}

const SHELL_LANGS = new Set(['sh', 'bash', 'shell']);
const SKIP_MARKER = /^<!--\s*not run by test:\s*(.*?)\s*-->\s*$/s;

function children(token: Token): Token[] {
  if (token.type === 'list') return (token as Tokens.List).items;
  return 'tokens' in token && Array.isArray(token.tokens) ? token.tokens : [];
}

/** The tokens of one container (the document, a list item), each followed by its own children. */
function walk(tokens: Token[], visit: (siblings: Token[], i: number) => void): void {
  tokens.forEach((token, i) => {
    visit(tokens, i);
    walk(children(token), visit);
  });
}

function nextNonSpace(siblings: Token[], from: number): Token | undefined {
  return siblings.slice(from).find((t) => t.type !== 'space');
}

export function shellBlocks(markdown: string): ShellBlock[] {
  const blocks: ShellBlock[] = [];
  walk(marked.lexer(markdown), (siblings, i) => {
    const token = siblings[i]!;
    if (token.type !== 'code' || !SHELL_LANGS.has((token as Tokens.Code).lang ?? '')) return;
    const before = siblings.slice(0, i).filter((t) => t.type !== 'space').at(-1);
    const marker = before?.type === 'html' ? SKIP_MARKER.exec((before as Tokens.HTML).text.trim()) : null;
    let expectedJson: unknown;
    const after = nextNonSpace(siblings, i + 1);
    if (after?.type === 'paragraph' && /^prints\b/.test((after as Tokens.Paragraph).text)) {
      const json = nextNonSpace(siblings, siblings.indexOf(after) + 1);
      if (json?.type === 'code' && (json as Tokens.Code).lang === 'json') expectedJson = JSON.parse((json as Tokens.Code).text);
    }
    blocks.push({ index: blocks.length + 1, script: (token as Tokens.Code).text, skip: marker ? marker[1] || '' : null, expectedJson });
  });
  return blocks;
}

export function inlineCommands(markdown: string): InlineCommand[] {
  const found: InlineCommand[] = [];
  walk(marked.lexer(markdown), (siblings, i) => {
    const token = siblings[i]!;
    if (token.type === 'codespan') found.push({ text: (token as Tokens.Codespan).text });
  });
  return found;
}

/** The block's commands, one per entry: backslash-continued lines joined, blank lines dropped. */
export function commandLines(script: string): string[] {
  return script
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .filter((l) => l.trim() !== '');
}

/** A line that starts the server in the foreground, as `npm start` does, split into what runs before it. */
export interface ServerLine {
  /** What the line runs first (`npm install` in `npm install && npm start`), or ''. */
  before: string;
  /** The server command itself, without a trailing `&` or comment. */
  command: string;
}

const NPM_START = /^(?:(.*?)\s*&&\s*)?(npm start(?:\s+--\s[^&#]*)?)\s*&?\s*(?:#.*)?$/;

export function serverLine(line: string): ServerLine | null {
  const m = NPM_START.exec(line.trim());
  return m ? { before: m[1] ?? '', command: m[2]!.trim() } : null;
}
