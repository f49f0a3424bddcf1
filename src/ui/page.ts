/**
 * The `/ui` page: one self-contained HTML document (inline CSS and JS, nothing fetched but the server's
 * own API) to try a model from a browser. It is a constant, so its Content-Security-Policy allows the
 * inline script and style by their SHA-256 hashes: nothing else may run, load or be framed, and the page
 * may only talk to its own origin.
 */
import { createHash } from 'node:crypto';
import { UI_SCRIPT } from './client-script.js';
import { UI_STYLES } from './styles.js';

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** The page's HTML. No server data is ever interpolated into it: the script writes answers with textContent. */
export const UI_PAGE: string = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Try a model · ortserve</title>
<style>${UI_STYLES}</style>
</head>
<body>
<main>
  <h1>Try a model</h1>
  <p class="lede">Classify an event with a model this server runs. The page calls the inference API, as any client does.</p>

  <form id="key-form" class="card" autocomplete="off">
    <label for="key">Inference key</label>
    <div class="row">
      <div class="grow"><input id="key" name="key" type="password" autocomplete="off" spellcheck="false" aria-describedby="key-help"></div>
      <button id="connect" type="submit">Load models</button>
    </div>
    <p id="key-help" class="help">The <code>inference.key</code> in the server's <code>key_file.json</code>. It stays in this browser tab only. Leave it empty if token authorization is off.</p>
    <div id="key-status" class="status" role="status" aria-live="polite"></div>
  </form>

  <form id="classify-form" class="card">
    <div class="row">
      <div class="grow"><label for="model">Model</label><select id="model" name="model" disabled></select></div>
      <div class="grow"><label for="version">Version</label><select id="version" name="version" disabled></select></div>
    </div>
    <label for="event">Event</label>
    <textarea id="event" name="event" rows="5" aria-describedby="event-help"
      placeholder="e.g. Jazz concert tonight at the old theatre, 20:30, free entry"></textarea>
    <p id="event-help" class="help">One event per line (a title, a description, or both): each line gets its own answer, as with the API. Ctrl+Enter classifies too.</p>
    <div class="actions">
      <button id="classify" type="submit" disabled>Classify</button>
      <span id="busy" class="status" role="status" aria-live="polite"></span>
    </div>
  </form>

  <section id="result" class="card" aria-live="polite" aria-labelledby="result-title">
    <h2 id="result-title">Result</h2>
    <p class="meta">The label of each line and its probability appear here.</p>
  </section>
</main>
<script>${UI_SCRIPT}</script>
</body>
</html>
`;

/** The page's Content-Security-Policy header value. */
export const UI_CSP: string = [
  "default-src 'none'",
  `script-src ${sha256(UI_SCRIPT)}`,
  `style-src ${sha256(UI_STYLES)}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
