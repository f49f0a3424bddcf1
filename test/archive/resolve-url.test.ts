import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { resolveModelUrl, type ResolveModelUrlOptions } from '../../src/archive/resolve-url.js';
import { matchesAllowedUrls } from '../../src/archive/url-policy.js';
import {
  DownloadArchiveException,
  InternalServerException,
  ModelNotFoundException,
  type ServeError,
} from '../../src/errors.js';
import { makeTempDir } from './helpers.js';

const ANY_URL = [/file:\/\/.*|http(s)?:\/\/.*/];

async function rejectsWith(promise: Promise<unknown>, type: new (message: string) => ServeError, status: number, message: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    assert.equal(err.status, status);
    assert.equal(err.message, message);
    return true;
  });
}

async function storeWith(...names: string[]): Promise<string> {
  const store = await makeTempDir('ortserve-store-');
  for (const name of names) await fs.writeFile(path.join(store, name), `content of ${name}`);
  return store;
}

describe('resolveModelUrl: names, paths and file URLs', () => {
  it('needs a model store', async () => {
    await rejectsWith(resolveModelUrl('m.mar', { modelStore: null, allowedUrls: ANY_URL }), ModelNotFoundException, 404, 'Model store has not been configured.');
  });

  it('refuses ".." anywhere in the url', async () => {
    const store = await storeWith();
    for (const url of ['../m.mar', 'file:///tmp/../etc/m.mar', 'http://127.0.0.1/a/../m.mar']) {
      await rejectsWith(resolveModelUrl(url, { modelStore: store, allowedUrls: ANY_URL }), ModelNotFoundException, 404, `Relative path is not allowed in url: ${url}`);
    }
  });

  it('refuses URLs that match no allowed URL, case-insensitively and as a whole', async () => {
    const store = await storeWith();
    const opts = { modelStore: store, allowedUrls: [/file:\/\/.*/] };
    const url = 'http://127.0.0.1:1/m.mar';
    await rejectsWith(resolveModelUrl(url, opts), ModelNotFoundException, 404, `Given URL ${url} does not match any allowed URL(s)`);
    assert.equal(matchesAllowedUrls('FILE:///x.mar', [/file:\/\/.*/]), true);
    assert.equal(matchesAllowedUrls('http://good.example/x.mar', [/http:\/\/good\.example/]), false);
    assert.equal(matchesAllowedUrls('http://evil.example/?http://good.example/', [/http:\/\/good\.example\/.*/g]), false);
  });

  it('opens an allowed file:// URL in place, never copying it into the model store', async () => {
    const store = await storeWith();
    const elsewhere = await makeTempDir();
    const file = path.join(elsewhere, 'm.mar');
    await fs.writeFile(file, 'zip');
    const url = pathToFileURL(file).href;
    assert.deepEqual(await resolveModelUrl(url, { modelStore: store, allowedUrls: ANY_URL }), { source: file, downloadedFile: null });
    assert.deepEqual(await fs.readdir(store), []);
  });

  it('reports a file:// URL that does not exist or is not absolute as a failed download', async () => {
    const store = await storeWith();
    for (const url of ['file:///no/such/m.mar', 'file://relative/m.mar']) {
      await rejectsWith(resolveModelUrl(url, { modelStore: store, allowedUrls: ANY_URL }), DownloadArchiveException, 400, `Failed to download archive from: ${url}`);
    }
    assert.deepEqual(await fs.readdir(store), []);
  });

  it('resolves a plain name to a file or a directory in the model store', async () => {
    const store = await storeWith('squeezenet.mar');
    await fs.mkdir(path.join(store, 'my_model_dir'));
    const opts = { modelStore: store, allowedUrls: [] };
    assert.deepEqual(await resolveModelUrl('squeezenet.mar', opts), { source: path.join(store, 'squeezenet.mar'), downloadedFile: null });
    assert.deepEqual(await resolveModelUrl('my_model_dir', opts), { source: path.join(store, 'my_model_dir'), downloadedFile: null });
    assert.deepEqual(await resolveModelUrl('my_model_dir/', opts), { source: path.join(store, 'my_model_dir'), downloadedFile: null });
    // TorchServe keeps only the last path component of a name.
    assert.deepEqual(await resolveModelUrl('some/where/squeezenet.mar', opts), { source: path.join(store, 'squeezenet.mar'), downloadedFile: null });
  });

  it('accepts a directory url, absolute or relative to the working directory, when allowed_urls allows it as a file:// URL', async () => {
    const store = await storeWith();
    const dir = await makeTempDir();
    const opts = { modelStore: store, allowedUrls: [/file:\/\/.*/] };
    assert.deepEqual(await resolveModelUrl(dir, opts), { source: dir, downloadedFile: null });
    const cwd = process.cwd();
    process.chdir(path.dirname(dir));
    try {
      assert.deepEqual(await resolveModelUrl(path.basename(dir), opts), { source: dir, downloadedFile: null });
    } finally {
      process.chdir(cwd);
    }
  });

  it('reports anything else as not found', async () => {
    const store = await storeWith();
    await rejectsWith(resolveModelUrl('nope.mar', { modelStore: store, allowedUrls: [] }), ModelNotFoundException, 404, 'Model not found at: nope.mar');
  });

  it('refuses a model-store symlink that points outside the model store, but follows one inside it', async () => {
    const store = await storeWith('real.mar');
    const outside = path.join(await makeTempDir(), 'secret.mar');
    await fs.writeFile(outside, 'x');
    await fs.symlink(outside, path.join(store, 'link.mar'));
    await fs.symlink(path.join(store, 'real.mar'), path.join(store, 'alias.mar'));
    const opts = { modelStore: store, allowedUrls: [] };
    await assert.rejects(resolveModelUrl('link.mar', opts), (err: unknown) => err instanceof ModelNotFoundException && /links outside the model store/.test(err.message));
    assert.deepEqual(await resolveModelUrl('alias.mar', opts), { source: path.join(store, 'alias.mar'), downloadedFile: null });
  });
});

describe('resolveModelUrl: http downloads', () => {
  const payload = Buffer.from('PK fake archive bytes '.repeat(50));
  let server: http.Server;
  let base = '';
  let other = '';

  before(async () => {
    server = http.createServer((req, res) => {
      const url = req.url ?? '';
      if (url === '/m.mar' || url === '/chunked.mar') {
        if (url === '/m.mar') res.setHeader('content-length', payload.length);
        res.end(payload);
      } else if (url === '/redirect-ok.mar') {
        res.writeHead(302, { location: '/m.mar' }).end();
      } else if (url === '/redirect-away.mar') {
        res.writeHead(302, { location: `${other}/m.mar` }).end();
      } else if (url === '/slow.mar') {
        res.write('partial');
      } else {
        res.writeHead(404).end('no');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
    other = `http://localhost:${port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const opts = (store: string, extra: Partial<ResolveModelUrlOptions> = {}): ResolveModelUrlOptions => ({
    modelStore: store,
    allowedUrls: [/http:\/\/127\.0\.0\.1:\d+\/.*/],
    downloadLimits: { maxBytes: 1_000_000, timeoutMs: 5_000 },
    ...extra,
  });

  it('downloads an allowed URL into the model store and reports the file', async () => {
    const store = await storeWith();
    const result = await resolveModelUrl(`${base}/m.mar`, opts(store));
    assert.deepEqual(result, { source: path.join(store, 'm.mar'), downloadedFile: path.join(store, 'm.mar') });
    assert.deepEqual(await fs.readFile(result.source), payload);
    assert.deepEqual(await fs.readdir(store), ['m.mar']);
  });

  it('refuses to overwrite a model-store file', async () => {
    const store = await storeWith('m.mar');
    await rejectsWith(resolveModelUrl(`${base}/m.mar`, opts(store)), InternalServerException, 500, 'Model file already exists m.mar');
    assert.equal(await fs.readFile(path.join(store, 'm.mar'), 'utf8'), 'content of m.mar');
  });

  it('stops at the size cap and leaves nothing behind, with or without Content-Length', async () => {
    const store = await storeWith();
    for (const name of ['m.mar', 'chunked.mar']) {
      const url = `${base}/${name}`;
      const small = opts(store, { downloadLimits: { maxBytes: 100, timeoutMs: 5_000 } });
      await rejectsWith(resolveModelUrl(url, small), DownloadArchiveException, 400, `Failed to download archive from: ${url}`);
    }
    assert.deepEqual(await fs.readdir(store), []);
  });

  it('reports a 404 as a failed download and leaves nothing behind', async () => {
    const store = await storeWith();
    const url = `${base}/missing.mar`;
    await rejectsWith(resolveModelUrl(url, opts(store)), DownloadArchiveException, 400, `Failed to download archive from: ${url}`);
    assert.deepEqual(await fs.readdir(store), []);
  });

  it('follows a redirect only to an allowed URL', async () => {
    const store = await storeWith();
    const ok = await resolveModelUrl(`${base}/redirect-ok.mar`, opts(store));
    assert.deepEqual(await fs.readFile(ok.source), payload);
    const url = `${base}/redirect-away.mar`;
    await assert.rejects(resolveModelUrl(url, opts(store)), (err: unknown) => {
      assert.ok(err instanceof DownloadArchiveException);
      assert.equal(err.message, `Failed to download archive from: ${url}`);
      assert.match(String((err as Error).cause), /redirect to http:\/\/localhost:\d+\/m\.mar, which does not match/);
      return true;
    });
    assert.deepEqual(await fs.readdir(store), ['redirect-ok.mar']);
  });

  it('gives up after the timeout and leaves nothing behind', async () => {
    const store = await storeWith();
    const url = `${base}/slow.mar`;
    const started = Date.now();
    await rejectsWith(resolveModelUrl(url, opts(store, { downloadLimits: { maxBytes: 1000, timeoutMs: 200 } })), DownloadArchiveException, 400, `Failed to download archive from: ${url}`);
    assert.ok(Date.now() - started < 3000);
    assert.deepEqual(await fs.readdir(store), []);
  });
});
