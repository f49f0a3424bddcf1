/**
 * The /ui page in a real headless Chromium against a real server: a person types the key, picks a model,
 * types an event and reads the label and its bars; errors read as messages, never as a blank page.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, afterEach, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.js';
import { json } from '../support/http.js';
import { LABELS, launchChromium, writeClassifierMar, writeEventsMar, type HeadlessChromium } from './support.js';

interface Bar {
  label: string;
  /** The fill's rendered width over its track's. */
  share: number;
  percent: string;
  aria: string | null;
}
interface Chart {
  name: string | null;
  bars: Bar[];
}

// A string, evaluated in the page: the project's TypeScript has no DOM types.
const READ_CHARTS = `[...document.querySelectorAll('#result .chart')].map((list) => ({
  name: list.getAttribute('aria-label'),
  bars: [...list.querySelectorAll('li')].map((li) => ({
    label: li.querySelector('.label').textContent,
    share: li.querySelector('.fill').getBoundingClientRect().width / li.querySelector('.track').getBoundingClientRect().width,
    percent: li.querySelector('.pct').textContent,
    aria: li.getAttribute('aria-label'),
  })),
}))`;

const EVENT = 'Jazz concert tonight at the old theatre, 20:30, free entry';

describe('/ui in headless Chromium', () => {
  let s: TestServer;
  let chromium: HeadlessChromium;
  let page: Page;
  /** Page errors and Content-Security-Policy violations: any of them fails the test. */
  let problems: string[];

  before(async () => {
    s = await startTestServer();
    await writeClassifierMar(s.modelStore, 'clf');
    writeEventsMar(s.modelStore, 'events');
    writeEventsMar(s.modelStore, 'idle');
    await s.register('url=clf.mar&initial_workers=1');
    await s.register('url=events-1.0.mar&initial_workers=1');
    await s.register('url=idle-1.0.mar&initial_workers=0');
    chromium = await launchChromium();
  });
  after(async () => {
    await chromium?.close();
    await s?.stop();
  });

  beforeEach(async () => {
    problems = [];
    page = await chromium.context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (/Content.Security.Policy/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
    });
  });
  afterEach(async () => {
    await page.close();
    assert.deepEqual(problems, []);
  });

  /** Opens the page, enters the key, and waits for the model list. */
  async function connect(key = s.auth('inference').Authorization!.slice('Bearer '.length)): Promise<void> {
    await page.goto(`${s.inferenceUrl}/ui`);
    await page.locator('#key-status', { hasText: 'Enter the inference key' }).waitFor();
    await page.getByLabel('Inference key').fill(key);
    await page.getByRole('button', { name: 'Load models' }).click();
    await page.locator('#key-status', { hasText: '3 models ready to try.' }).waitFor();
  }

  /**
   * Runs `act` and waits until its prediction is drawn. The page marks the result aria-busy before it
   * sends the request, so once the response has arrived, aria-busy=false means this answer is drawn
   * (not the one before it).
   */
  async function answered(act: () => Promise<void>): Promise<void> {
    const response = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes('/predictions/'));
    await act();
    await response;
    // A selector wait, not waitForFunction: Playwright polls a function predicate with eval in the page,
    // which the page's Content-Security-Policy (no 'unsafe-eval') refuses whenever the first check fails.
    await page.locator('#result[aria-busy="false"]').waitFor({ state: 'attached' });
  }

  async function classify(model: string, event: string): Promise<void> {
    await page.getByLabel('Model', { exact: true }).selectOption(model);
    await page.getByLabel('Event').fill(event);
    await answered(() => page.getByRole('button', { name: 'Classify' }).click());
  }

  it('shows a label of the model for a typed event, with bars whose widths sum to 100 %', async () => {
    await connect();
    assert.deepEqual(await page.getByLabel('Model', { exact: true }).locator('option').allTextContents(), ['clf', 'events', 'idle']);
    assert.deepEqual(await page.getByLabel('Version').locator('option').allTextContents(), ['default (1.0)', '1.0']);
    await classify('clf', EVENT);

    const answer = await page.locator('#result .answer-label').textContent();
    assert.ok(LABELS.includes(answer!), `answer ${answer}`);
    const charts = await page.evaluate<Chart[]>(READ_CHARTS);
    assert.equal(charts.length, 1);
    const bars = charts[0]!.bars;
    assert.deepEqual(bars.map((b) => b.label).sort(), [...LABELS].sort(), 'top_k 10 gives every label of a 4-label model');
    assert.equal(bars[0]!.label, answer, 'the best label leads the chart');
    const total = bars.reduce((n, b) => n + b.share, 0);
    assert.ok(Math.abs(total - 1) < 0.02, `bar widths sum to ${total}`);
    const percents = bars.map((b) => Number.parseFloat(b.percent));
    assert.ok(Math.abs(percents.reduce((n, p) => n + p, 0) - 100) < 0.5, bars.map((b) => b.percent).join(', '));
    assert.deepEqual(percents, [...percents].sort((a, b) => b - a), 'best first');
    assert.equal(bars[0]!.aria, `${bars[0]!.label}: ${bars[0]!.percent}`);

    // The page shows what the API answers to the same request.
    const api = json((await s.predictJson('clf', { text: EVENT, top_k: 10 })).body) as Array<{ label: string; score: number }>;
    assert.equal(api[0]!.label, answer);
    assert.equal(bars[0]!.percent, `${(api[0]!.score * 100).toFixed(1)} %`);
  });

  it('draws the events answer as one chart per key, and — for a null subtaxonomy', async () => {
    await connect();
    await classify('events', EVENT);
    assert.deepEqual(await page.locator('#result h3').allTextContents(), ['taxonomy', 'subtaxonomy']);
    assert.deepEqual(await page.locator('#result .answer-label').allTextContents(), ['culture', 'concert']);
    const charts = await page.evaluate<Chart[]>(READ_CHARTS);
    assert.deepEqual(charts.map((c) => c.name), ['taxonomy probabilities', 'subtaxonomy probabilities']);
    for (const c of charts) assert.ok(Math.abs(c.bars.reduce((n, b) => n + b.share, 0) - 1) < 0.02, JSON.stringify(c));

    await classify('events', 'Marathon registration opens next week');
    assert.deepEqual(await page.locator('#result h3').allTextContents(), ['taxonomy', 'subtaxonomy']);
    assert.equal(await page.locator('#result .group').nth(1).locator('.none').textContent(), '—');
    assert.equal((await page.evaluate<Chart[]>(READ_CHARTS)).length, 1);
  });

  it('classifies a pasted multi-line text line by line, as the API does, with one card per line', async () => {
    await connect();
    const lines = ['Jazz concert tonight at the old theatre', 'Marathon registration opens next week', 'Football derby on Sunday'];
    // Blank and whitespace-only lines are dropped, as the API drops them from a text body.
    await classify('clf', `${lines[0]}\n\n${lines[1]}\r\n   \n${lines[2]}\n`);
    const cards = page.locator('#result .line-result');
    assert.equal(await cards.count(), 3);
    assert.deepEqual(await cards.locator('.line-text').allTextContents(), lines.map((l, i) => `${i + 1}.${l}`));
    const labels = await Promise.all([0, 1, 2].map((i) => cards.nth(i).locator('.answer-label').textContent()));

    // The same text as a plain body (what `curl -T` sends): one label per line, in order.
    const res = await fetch(`${s.inferenceUrl}/predictions/clf`, {
      method: 'POST',
      headers: { ...s.auth('inference'), 'Content-Type': 'text/plain' },
      body: lines.join('\n'),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(labels, await res.json());

    // Each card holds its own line's answer: only the lines with "concert" get a subtaxonomy chart.
    await classify('events', `Rock concert in the park\nMarathon registration opens next week\nConcert of the choir`);
    assert.deepEqual(await cards.locator('.line-text').allTextContents(), ['1.Rock concert in the park', '2.Marathon registration opens next week', '3.Concert of the choir']);
    const charts = await Promise.all([0, 1, 2].map((i) => cards.nth(i).locator('.chart').count()));
    assert.deepEqual(charts, [2, 1, 1], 'concert (lower case) matches lines 1 only; line 3 has "Concert"');
    assert.match((await page.locator('#result .meta').textContent())!, /events · default version · 3 lines · \d+ ms/);
  });

  it('says so when Classify is pressed with no text, and sends nothing', async () => {
    await connect();
    let posts = 0;
    page.on('request', (r) => {
      if (r.method() === 'POST') posts++;
    });
    for (const empty of ['', ' \n\t\n ']) {
      // A result first, so that the message below is this click's.
      await classify('clf', EVENT);
      assert.equal(await page.locator('#result .line-result').count(), 1);
      const before = posts;
      await page.getByLabel('Event').fill(empty);
      await page.getByRole('button', { name: 'Classify' }).click();
      await page.locator('#result [role=alert]', { hasText: 'Nothing to classify' }).waitFor();
      assert.match((await page.locator('#result .error-message').textContent())!, /one event per line/);
      assert.equal(await page.locator('#result .line-result').count(), 0);
      assert.equal(await page.evaluate<string | undefined>('document.activeElement?.id'), 'event', 'the event box has the focus');
      assert.equal(posts, before, 'no request for an empty text');
    }
  });

  it('shows any other answer as text, escaped', async () => {
    await connect();
    await classify('events', 'plain:<b id="injected">not bold</b>');
    assert.equal(await page.locator('#result pre').textContent(), '<b id="injected">not bold</b>');
    assert.equal(await page.locator('#injected').count(), 0);
  });

  it("shows TorchServe's error for a wrong key, both when loading models and when classifying", async () => {
    await connect();
    await page.getByLabel('Inference key').fill('wrong-key');
    await classify('clf', EVENT);
    const error = page.locator('#result [role=alert]');
    assert.equal(await error.locator('.error-title').textContent(), 'Error 400 · InvalidKeyException');
    assert.equal(
      await error.locator('.error-message').textContent(),
      'Token Authorization failed. Token either incorrect, expired, or not provided correctly',
    );
    assert.match((await error.locator('.help').textContent())!, /key_file\.json/);

    await page.getByRole('button', { name: 'Load models' }).click();
    await page.locator('#key-status [role=alert]', { hasText: 'InvalidKeyException' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Classify' }).isDisabled(), true);
  });

  it('shows the 503 of a model without workers', async () => {
    await connect();
    await classify('idle', EVENT);
    assert.equal(await page.locator('#result .error-title').textContent(), 'Error 503 · ServiceUnavailableException');
    assert.match((await page.locator('#result .error-message').textContent())!, /has no worker/);
  });

  it('keeps the key for the tab only, and classifies from the keyboard', async () => {
    await connect();
    await page.reload();
    // The key came back from sessionStorage, so the models load without a click.
    await page.locator('#key-status', { hasText: '3 models ready to try.' }).waitFor();
    const key = await page.evaluate<string | null>("sessionStorage.getItem('ortserve.inferenceKey')");
    assert.equal(`Bearer ${key}`, s.auth('inference').Authorization);
    assert.equal(await page.evaluate<string | null>("localStorage.getItem('ortserve.inferenceKey')"), null);

    // Models are sorted, so clf is selected first; the down arrow picks the next one, events.
    const picker = page.getByLabel('Model', { exact: true });
    await picker.focus();
    await page.keyboard.press('ArrowDown');
    assert.equal(await picker.inputValue(), 'events');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate<string | undefined>('document.activeElement?.id'), 'event');
    await page.keyboard.type('Un concert de jazz dimanche à 18 h');
    await answered(() => page.keyboard.press('Control+Enter'));
    assert.deepEqual(await page.locator('#result .answer-label').allTextContents(), ['culture', 'concert']);
  });
});
