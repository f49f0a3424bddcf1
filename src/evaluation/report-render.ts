/**
 * Renders the report's blocks as GitHub-flavoured Markdown and as a standalone HTML page. Text in the
 * blocks is plain; each renderer escapes it for its own syntax.
 */
import type { Block } from './report-document.js';

/** Characters that would change a Markdown line's meaning; `_` stays, GFM ignores it inside words. */
const mdEscape = (s: string): string => s.replace(/([\\`*[\]<>|])/g, '\\$1').replace(/\n/g, ' ');

/** Numbers and dashes are right-aligned, text is left-aligned. */
const isNumeric = (s: string): boolean => /^-?\d+(\.\d+)?$|^–$/.test(s);

function numericColumns(header: readonly string[], rows: readonly string[][]): boolean[] {
  return header.map((_, i) => i > 0 && rows.length > 0 && rows.every((r) => isNumeric(r[i] ?? '')));
}

export function renderMarkdown(blocks: readonly Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case 'heading':
        out.push(`${'#'.repeat(b.level)} ${mdEscape(b.text)}`);
        break;
      case 'paragraph':
        out.push(mdEscape(b.text));
        break;
      case 'image':
        out.push(`![${mdEscape(b.alt)}](${encodeURI(b.src)})`);
        break;
      case 'list':
        out.push(b.items.map((i) => `- ${mdEscape(i)}`).join('\n'));
        break;
      case 'table': {
        const right = numericColumns(b.header, b.rows);
        const line = (cells: readonly string[]): string => `| ${cells.map(mdEscape).join(' | ')} |`;
        out.push([line(b.header), `|${right.map((r) => (r ? ' ---: ' : ' --- ')).join('|')}|`, ...b.rows.map(line)].join('\n'));
        break;
      }
    }
  }
  return out.join('\n\n') + '\n';
}

const htmlEscape = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

const STYLE = `body{font-family:Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}img{max-width:100%;margin:1em 0}`;

export function renderHtml(blocks: readonly Block[], title: string): string {
  const body: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case 'heading':
        body.push(`<h${b.level}>${htmlEscape(b.text)}</h${b.level}>`);
        break;
      case 'paragraph':
        body.push(`<p>${htmlEscape(b.text)}</p>`);
        break;
      case 'image':
        body.push(`<img src="${htmlEscape(encodeURI(b.src))}" alt="${htmlEscape(b.alt)}">`);
        break;
      case 'list':
        body.push(`<ul>${b.items.map((i) => `<li>${htmlEscape(i)}</li>`).join('')}</ul>`);
        break;
      case 'table': {
        const right = numericColumns(b.header, b.rows);
        const head = `<tr>${b.header.map((h) => `<th>${htmlEscape(h)}</th>`).join('')}</tr>`;
        const rows = b.rows.map((r) => `<tr>${r.map((c, i) => `<td${right[i] ? ' class="num"' : ''}>${htmlEscape(c)}</td>`).join('')}</tr>`);
        body.push(`<table>\n${head}\n${rows.join('\n')}\n</table>`);
        break;
      }
    }
  }
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${htmlEscape(title)}</title><style>${STYLE}</style></head>
<body>
${body.join('\n')}
</body>
</html>
`;
}
