/**
 * The stylesheet of the `/ui` page, inlined into it (the Content-Security-Policy allows it by hash, so it
 * must stay a constant string: no per-request parts).
 */
export const UI_STYLES: string = `
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --card: #fff; --text: #1d232b; --muted: #5b6675; --line: #d8dde4;
  --accent: #2f5fd0; --on-accent: #fff; --bar: #7d97dc; --best: #1b8a4b; --track: #e9edf3;
  --err-bg: #fdecec; --err-line: #e3a0a0; --err-text: #8a1c1c;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #15181d; --card: #1e232a; --text: #e6e9ee; --muted: #9aa5b4; --line: #343b45;
    --accent: #7fa2ff; --on-accent: #10141a; --bar: #5873b8; --best: #3fbf77; --track: #2b313a;
    --err-bg: #3a1f22; --err-line: #7a3a40; --err-text: #ffb4b4;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); }
main { max-width: 46rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.1rem; margin: 0 0 .75rem; }
h3 { font-size: 1rem; margin: 1rem 0 .5rem; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
p { margin: .25rem 0; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9em; }
.lede, .help, .meta, .status { color: var(--muted); }
.help, .meta, .status { font-size: .875rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.25rem; margin: 1rem 0; }
label { display: block; font-weight: 600; margin: .5rem 0 .25rem; }
.row { display: flex; gap: .75rem; align-items: flex-end; flex-wrap: wrap; }
.row > .grow { flex: 1 1 12rem; min-width: 0; }
input, select, textarea, button { font: inherit; color: inherit; }
input, select, textarea {
  width: 100%; padding: .45rem .6rem; border: 1px solid var(--line); border-radius: 6px; background: var(--card);
}
textarea { resize: vertical; min-height: 6rem; }
button {
  padding: .45rem 1.1rem; border: 1px solid var(--accent); border-radius: 6px; background: var(--accent);
  color: var(--on-accent); font-weight: 600; cursor: pointer;
}
button:disabled, select:disabled { opacity: .55; cursor: not-allowed; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.actions { display: flex; gap: 1rem; align-items: center; margin-top: .75rem; }
.answer { display: flex; align-items: baseline; gap: .75rem; flex-wrap: wrap; margin: 0 0 .75rem; }
.answer-label { font-size: 1.5rem; font-weight: 700; color: var(--best); overflow-wrap: anywhere; }
.answer-score { color: var(--muted); }
.chart { list-style: none; margin: 0; padding: 0; }
.bar { display: grid; grid-template-columns: minmax(5rem, 11rem) 1fr 4.25rem; gap: .75rem; align-items: center; padding: .2rem 0; }
.bar .label { overflow-wrap: anywhere; }
.track { display: block; height: 1.1rem; background: var(--track); border-radius: 4px; overflow: hidden; }
.fill { display: block; height: 100%; background: var(--bar); border-radius: 4px 0 0 4px; }
.pct { text-align: right; font-variant-numeric: tabular-nums; }
.best .label, .best .pct { font-weight: 700; }
.best .fill { background: var(--best); }
.none { font-size: 1.25rem; color: var(--muted); }
.raw {
  margin: 0; padding: .75rem; background: var(--track); border-radius: 6px; white-space: pre-wrap; overflow-wrap: anywhere;
  font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .875rem;
}
.error { background: var(--err-bg); border: 1px solid var(--err-line); color: var(--err-text); border-radius: 6px; padding: .6rem .8rem; margin: .5rem 0 0; }
.error-title { font-weight: 700; }
.line-result { border-top: 1px solid var(--line); padding: .75rem 0 .25rem; }
.line-result:first-of-type { border-top: 0; padding-top: 0; }
.line-text { font-weight: 600; margin: 0 0 .5rem; overflow-wrap: anywhere; }
.line-number { color: var(--muted); font-variant-numeric: tabular-nums; margin-right: .5rem; }
.error .help { color: inherit; opacity: .85; }
`;
