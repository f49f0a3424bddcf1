/**
 * What the /ui tests share: archives for the two answer shapes the page draws, and a real headless
 * Chromium (Debian's, driven by playwright-core) with a fresh profile.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { FIXTURE_HANDLERS, writeMar } from '../support/archives.js';
import { makeTempDir } from '../support/server.js';
import { writeTinyTextModel } from '../support/tiny-model.js';

/** Debian's chromium package; `.ci/run` installs it when it is missing. */
export const CHROMIUM = '/usr/bin/chromium';

/** The label set of the tiny text classifier the page is tried with. */
export const LABELS: readonly string[] = ['music', 'sports', 'theatre', 'food'];

/** A text_classifier archive over a tiny real ONNX model with LABELS. */
export async function writeClassifierMar(modelStore: string, name: string): Promise<string> {
  const modelDir = makeTempDir('ortserve-ui-model-');
  try {
    await writeTinyTextModel(modelDir, { labels: [...LABELS] });
    const files = Object.fromEntries(readdirSync(modelDir).map((f) => [f, readFileSync(path.join(modelDir, f))]));
    return writeMar(modelStore, { name, handler: 'text_classifier', serializedFile: 'model.onnx', files });
  } finally {
    rmSync(modelDir, { recursive: true, force: true });
  }
}

/** An archive whose handler answers in the events model's shape (test/fixtures/handlers/ui-events.ts). */
export function writeEventsMar(modelStore: string, name: string, version = '1.0'): string {
  return writeMar(modelStore, {
    name,
    version,
    fileName: `${name}-${version}.mar`,
    handler: 'ui-events.ts',
    files: { 'ui-events.ts': readFileSync(path.join(FIXTURE_HANDLERS, 'ui-events.ts')) },
  });
}

export interface HeadlessChromium {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Launches /usr/bin/chromium headless with a fresh user-data directory. A missing browser is a failure,
 * not a skip: CI installs it, so its absence means the environment is broken.
 */
export async function launchChromium(): Promise<HeadlessChromium> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the /ui tests drive Debian's chromium. Install it with ` +
        '`apt-get install -y --no-install-recommends chromium` (.ci/run does this when it runs as root).',
    );
  }
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'ortserve-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    return {
      context,
      async close() {
        await context.close();
        rmSync(userDataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw err;
  }
}
