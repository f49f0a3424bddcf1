/**
 * The browser script of the `/ui` page, inlined into it and allowed by hash in its Content-Security-Policy.
 *
 * It is plain JavaScript in a string, not compiled TypeScript: the project compiles for Node (no DOM
 * types), and a string ships in dist with no build step. It must not contain a backtick or a dollar-brace,
 * and every string that comes from the server is written with textContent, never parsed as HTML.
 *
 * What it does: reads the inference key (kept in sessionStorage only), loads `GET /ui/models` into the
 * model and version pickers, splits the text into its non-empty lines as the API splits a text body
 * (`curl -T` of three lines gets three labels), POSTs `{"text": line, "top_k": 10}` per line to
 * `/predictions/{model}[/{version}]` and draws one result card per line, in order, each with its answer:
 * a list of {label, score} as one bar chart, an object of such lists (the events model's taxonomy /
 * subtaxonomy) as one chart per key, anything else as text, and errors in TorchServe's
 * {code, type, message} shape as a readable message. Empty text gets a message, not a silent no-op.
 */
export const UI_SCRIPT: string = `
'use strict';
(function () {
  var KEY_STORE = 'ortserve.inferenceKey';
  var byId = function (id) { return document.getElementById(id); };
  var keyForm = byId('key-form'), keyInput = byId('key'), keyStatus = byId('key-status');
  var form = byId('classify-form'), modelSel = byId('model'), versionSel = byId('version');
  var eventText = byId('event'), classifyBtn = byId('classify'), busy = byId('busy');
  var result = byId('result');
  var models = [];
  // One request per line: more than a page can show usefully; a file of any size goes to the API.
  var MAX_LINES = 100;

  function node(tag, className, text) {
    var n = document.createElement(tag);
    if (className) n.className = className;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }

  // sessionStorage can be unavailable (privacy modes); the page then just forgets the key on reload.
  function storedKey() {
    try { return sessionStorage.getItem(KEY_STORE) || ''; } catch (e) { return ''; }
  }
  function storeKey(k) {
    try { if (k) sessionStorage.setItem(KEY_STORE, k); else sessionStorage.removeItem(KEY_STORE); } catch (e) { /* ignored */ }
  }
  function authHeaders(extra) {
    var h = Object.assign({}, extra || {});
    var k = keyInput.value.trim();
    if (k) h.Authorization = 'Bearer ' + k;
    return h;
  }

  // The body as JSON when it parses, else as text; never throws.
  async function readBody(res) {
    var text = await res.text();
    try { return { text: text, json: JSON.parse(text), isJson: true }; } catch (e) { return { text: text, json: undefined, isJson: false }; }
  }

  function hint(status, type) {
    if (type === 'InvalidKeyException') return 'Check the inference key: it is inference.key in key_file.json, and it changes when the server restarts or the key expires.';
    if (status === 404) return 'The model or version is not registered (any more): load the models again.';
    if (status === 503) return 'The model has no free worker or its queue is full: scale it with the management API, or try again.';
    if (status === 413) return 'The event is larger than the server allows (max_request_size).';
    if (status === 400) return 'The model could not read this input.';
    return '';
  }

  function errorBox(title, message, hintText) {
    var box = node('div', 'error');
    box.setAttribute('role', 'alert');
    box.append(node('p', 'error-title', title), node('p', 'error-message', message));
    if (hintText) box.append(node('p', 'help', hintText));
    return box;
  }

  // A TorchServe error {code, type, message}, or whatever else an error answer carried.
  function httpError(status, body) {
    var e = body.isJson && body.json && typeof body.json === 'object' ? body.json : null;
    var type = e && typeof e.type === 'string' ? e.type : '';
    var message = e && typeof e.message === 'string' ? e.message : (body.text.trim() || 'The server sent no message.');
    return errorBox('Error ' + status + (type ? ' · ' + type : ''), message, hint(status, type));
  }

  function networkError(err) {
    return errorBox('The server could not be reached', String(err && err.message ? err.message : err), 'Is ortserve still running?');
  }

  function isScored(v) {
    return Array.isArray(v) && v.length > 0 && v.every(function (e) {
      return e !== null && typeof e === 'object' && typeof e.label === 'string' && typeof e.score === 'number' && isFinite(e.score);
    });
  }
  // An object whose values are label lists or null, e.g. {"taxonomy": [...], "subtaxonomy": null}.
  function isGrouped(v) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
    var values = Object.keys(v).map(function (k) { return v[k]; });
    return values.some(isScored) && values.every(function (x) { return x === null || isScored(x) || (Array.isArray(x) && x.length === 0); });
  }

  function share(score) { return Math.max(0, Math.min(1, score)); }
  function percent(score) { return (share(score) * 100).toFixed(1) + ' %'; }
  function bestFirst(entries) { return entries.slice().sort(function (a, b) { return b.score - a.score; }); }

  function answerLine(best) {
    var p = node('p', 'answer');
    p.append(node('span', 'answer-label', best.label), node('span', 'answer-score', percent(best.score)));
    return p;
  }

  // One list item per label: name, a bar as wide as its probability, the percentage. The item's
  // aria-label says the same in words; the bar itself is decoration.
  function chart(entries, name) {
    var list = node('ol', 'chart');
    list.setAttribute('aria-label', name);
    entries.forEach(function (e, i) {
      var item = node('li', i === 0 ? 'bar best' : 'bar');
      item.setAttribute('aria-label', e.label + ': ' + percent(e.score));
      var track = node('span', 'track');
      track.setAttribute('aria-hidden', 'true');
      var fill = node('span', 'fill');
      fill.style.width = (share(e.score) * 100) + '%';
      track.append(fill);
      item.append(node('span', 'label', e.label), track, node('span', 'pct', percent(e.score)));
      list.append(item);
    });
    return list;
  }

  function labelBlock(entries, chartName) {
    var sorted = bestFirst(entries);
    var frag = document.createDocumentFragment();
    frag.append(answerLine(sorted[0]), chart(sorted, chartName));
    return frag;
  }

  // Empties the result area down to its heading and a line saying what was asked.
  function resetResult(meta) {
    var heading = node('h2', null, 'Result');
    heading.id = 'result-title';
    result.replaceChildren(heading, node('p', 'meta', meta));
  }

  // What one answer looks like, appended to its line's card.
  function renderAnswer(card, status, body) {
    if (status >= 400) { card.append(httpError(status, body)); return; }
    var v = body.isJson ? body.json : body.text;
    if (v === '') { card.append(node('p', 'none', 'The model sent an empty answer.')); return; }
    if (isScored(v)) { card.append(labelBlock(v, 'Label probabilities')); return; }
    if (isGrouped(v)) {
      Object.keys(v).forEach(function (key) {
        var section = node('section', 'group');
        section.append(node('h3', null, key));
        if (isScored(v[key])) section.append(labelBlock(v[key], key + ' probabilities'));
        else section.append(node('p', 'none', '—'));
        card.append(section);
      });
      return;
    }
    card.append(node('pre', 'raw', typeof v === 'string' ? v : JSON.stringify(v, null, 2)));
  }

  // A card per line: the line as sent, then its answer or its error.
  function lineCard(index, line) {
    var card = node('article', 'line-result');
    card.setAttribute('aria-label', 'Line ' + (index + 1));
    var text = node('p', 'line-text');
    text.append(node('span', 'line-number', (index + 1) + '.'), node('span', null, line));
    card.append(text);
    return card;
  }

  // The API's split of a text body: lines, without the blank ones.
  function eventLines(text) {
    return text.split(/\\r?\\n/).filter(function (line) { return line.trim() !== ''; });
  }

  function isModel(m) {
    return m !== null && typeof m === 'object' && typeof m.modelName === 'string' && typeof m.defaultVersion === 'string' &&
      Array.isArray(m.versions) && m.versions.every(function (x) { return typeof x === 'string'; });
  }

  function fillVersions() {
    var m = models.find(function (x) { return x.modelName === modelSel.value; });
    versionSel.replaceChildren();
    if (!m) return;
    var def = node('option', null, 'default (' + m.defaultVersion + ')');
    def.value = '';
    versionSel.append(def);
    m.versions.forEach(function (v) { var o = node('option', null, v); o.value = v; versionSel.append(o); });
  }

  function setModels(list) {
    var previous = modelSel.value;
    models = list.filter(isModel);
    modelSel.replaceChildren();
    models.forEach(function (m) { var o = node('option', null, m.modelName); o.value = m.modelName; modelSel.append(o); });
    if (models.some(function (m) { return m.modelName === previous; })) modelSel.value = previous;
    fillVersions();
    var none = models.length === 0;
    modelSel.disabled = none; versionSel.disabled = none; classifyBtn.disabled = none;
  }

  // quiet: on page load, a missing key is a prompt, not an error.
  async function loadModels(quiet) {
    keyStatus.replaceChildren(node('span', null, 'Loading the models…'));
    var res, body;
    try {
      res = await fetch('/ui/models', { headers: authHeaders({ Accept: 'application/json' }), cache: 'no-store' });
      body = await readBody(res);
    } catch (err) {
      setModels([]);
      keyStatus.replaceChildren(networkError(err));
      return;
    }
    if (!res.ok) {
      setModels([]);
      if (quiet && !keyInput.value.trim() && res.status === 400) keyStatus.textContent = 'Enter the inference key to load the models.';
      else keyStatus.replaceChildren(httpError(res.status, body));
      return;
    }
    setModels(Array.isArray(body.json) ? body.json : []);
    keyStatus.textContent = models.length === 0 ? 'No model is registered yet: register one with the management API.'
      : models.length + (models.length === 1 ? ' model' : ' models') + ' ready to try.';
  }

  keyForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    storeKey(keyInput.value.trim());
    loadModels(false);
  });
  modelSel.addEventListener('change', fillVersions);

  async function classifyLine(url, line) {
    try {
      var res = await fetch(url, {
        method: 'POST',
        headers: authHeaders({ 'Content-Type': 'application/json' }),
        body: JSON.stringify({ text: line, top_k: 10 }),
        cache: 'no-store',
      });
      return { status: res.status, body: await readBody(res) };
    } catch (err) {
      return { error: err };
    }
  }

  form.addEventListener('submit', async function (ev) {
    ev.preventDefault();
    var model = modelSel.value;
    if (!model) return;
    var version = versionSel.value;
    var meta = model + ' · ' + (version || 'default version');
    var lines = eventLines(eventText.value);
    if (lines.length === 0) {
      resetResult(meta);
      result.append(errorBox('Nothing to classify', 'Type or paste an event first: one event per line.', ''));
      eventText.focus();
      return;
    }
    if (lines.length > MAX_LINES) {
      resetResult(meta);
      result.append(errorBox('Too many lines', 'The page classifies up to ' + MAX_LINES + ' lines at a time; this text has ' +
        lines.length + '.', 'Send a larger file to the API instead: curl -T file.txt, one label per line.'));
      return;
    }
    var url = '/predictions/' + encodeURIComponent(model) + (version ? '/' + encodeURIComponent(version) : '');
    storeKey(keyInput.value.trim());
    classifyBtn.disabled = true;
    result.setAttribute('aria-busy', 'true');
    busy.textContent = 'Classifying…';
    var started = performance.now();
    try {
      // All lines at once: the server batches them, as it batches the lines of one text body.
      var answers = await Promise.all(lines.map(function (line) { return classifyLine(url, line); }));
      resetResult(meta + ' · ' + lines.length + (lines.length === 1 ? ' line' : ' lines') + ' · ' +
        Math.round(performance.now() - started) + ' ms');
      answers.forEach(function (a, i) {
        var card = lineCard(i, lines[i]);
        if (a.error !== undefined) card.append(networkError(a.error));
        else renderAnswer(card, a.status, a.body);
        result.append(card);
      });
    } finally {
      classifyBtn.disabled = models.length === 0;
      result.setAttribute('aria-busy', 'false');
      busy.textContent = '';
    }
  });
  // Ctrl+Enter (Cmd+Enter) in the event box classifies, as in most chat and form boxes.
  eventText.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); form.requestSubmit(); }
  });

  keyInput.value = storedKey();
  loadModels(true);
})();
`;
