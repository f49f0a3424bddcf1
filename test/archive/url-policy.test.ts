/**
 * The allowed_urls attacks of issue 13 against resolveModelUrl: encoded dot segments, double encoding,
 * encoded slashes, backslashes, control characters, user information, redirects, file:// URLs through
 * symbolic links, and bare paths outside the model store (including its look-alike siblings). Each
 * http case runs against a loopback host that logs every request, and checks what it was asked for.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { resolveModelUrl, type ResolveModelUrlOptions } from '../../src/archive/resolve-url.js';
import { canonicalUrl, isInside } from '../../src/archive/url-policy.js';
import { ModelNotFoundException } from '../../src/errors.js';
import { mostDecodedPath, redirectPath, startModelHost, type ModelHost } from '../support/model-host.js';
import { makeTempDir } from './helpers.js';

async function refused(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ModelNotFoundException, `expected ModelNotFoundException, got ${String(err)}`);
    assert.equal(err.status, 404);
    assert.match(err.message, message);
    return true;
  });
}

describe('canonicalUrl', () => {
  it('decodes unreserved characters, lower-cases scheme and host, resolves "." and drops the fragment', () => {
    const cases: Array<[string, string]> = [
      ['HTTP://Example.COM:80/%6Dodels/./a%2Db%5F%7E.mar', 'http://example.com/models/a-b_~.mar'],
      ['http://127.1:8080/models/x.mar#part', 'http://127.0.0.1:8080/models/x.mar'],
      ['http://0x7f.0.0.1/m.mar', 'http://127.0.0.1/m.mar'],
      ['http://h/a%20b.mar?sig=ab%2Fcd%3D', 'http://h/a%20b.mar?sig=ab%2Fcd%3D'],
      ['file:///srv/models/%6d.mar', 'file:///srv/models/m.mar'],
    ];
    for (const [given, expected] of cases) assert.equal(canonicalUrl(given), expected, given);
  });

  it('refuses what a server could read two ways', () => {
    const cases: Array<[string, RegExp]> = [
      ['http://h/models/%2e%2e/secret.mar', /Relative path is not allowed/],
      ['http://h/models/.%2E/secret.mar', /Relative path is not allowed/],
      ['http://h/models/%252e%252e/secret.mar', /double-encoded/],
      ['http://h/models/x%2f..%2fsecret.mar', /Relative path is not allowed/],
      ['http://h/models/a%2Fb.mar', /encoded "\/"/],
      ['http://h/models/a%5cb.mar', /encoded "\/" or "\\"/],
      ['http://h/models/a%255cb.mar', /double-encoded/],
      ['http://h/models\\..\\secret.mar', /backslash/],
      ['http://h/models/.\t./secret.mar', /space or a control character/],
      ['http://h/models/a%00.mar', /encoded control character/],
      ['http://allowed.example@evil.example/m.mar', /user information/],
      ['http://h/models/%e0%a4%a.mar', /malformed percent-encoding/],
    ];
    for (const [given, message] of cases) {
      assert.throws(() => canonicalUrl(given), (err: unknown) => err instanceof ModelNotFoundException && message.test(err.message), given);
    }
  });
});

describe('isInside', () => {
  it('tells a directory from its look-alike siblings', () => {
    assert.equal(isInside('/srv/model-store', '/srv/model-store/m.mar'), true);
    assert.equal(isInside('/srv/model-store', '/srv/model-store/..m.mar'), true);
    assert.equal(isInside('/srv/model-store', '/srv/model-store'), false);
    assert.equal(isInside('/srv/model-store', '/srv/model-store-old/m.mar'), false);
    assert.equal(isInside('/srv/model-store', '/srv/model-store.bak/m.mar'), false);
    assert.equal(isInside('/srv/model-store', '/srv/m.mar'), false);
  });
});

describe('allowed_urls attacks over http (a logging loopback host)', () => {
  let host: ModelHost;
  let allowed: RegExp;
  const SECRET = Buffer.from('the secret archive');
  const GOOD = Buffer.from('the good archive');

  before(async () => {
    host = await startModelHost({ '/models/good.mar': GOOD, '/secret.mar': SECRET });
    allowed = new RegExp(`http://127\\.0\\.0\\.1:${host.port}/models/.*`);
  });
  after(() => host.close());

  const opts = (store: string, allowedUrls = [allowed]): ResolveModelUrlOptions => ({
    modelStore: store,
    allowedUrls,
    downloadLimits: { maxBytes: 1_000_000, timeoutMs: 5_000 },
  });

  /** Every request the host saw since `from` must match the pattern, also once decoded as far as it goes. */
  function assertNothingOutside(from: number, pattern: RegExp): void {
    for (const req of host.requested.slice(from)) {
      const url = new URL(req);
      assert.match(req, new RegExp(`^(?:${pattern.source})$`, 'i'), `fetched ${req}`);
      assert.ok(mostDecodedPath(url.pathname).startsWith('/models/'), `fetched ${req}, which a lenient server reads as ${mostDecodedPath(url.pathname)}`);
    }
  }

  it('still downloads an allowed URL (the control case)', async () => {
    const store = await makeTempDir();
    const from = host.requested.length;
    const r = await resolveModelUrl(`${host.base}/models/good.mar`, opts(store));
    assert.deepEqual(await fs.readFile(r.source), GOOD);
    assert.deepEqual(host.requested.slice(from), [`${host.base}/models/good.mar`]);
  });

  it('refuses encoded and double-encoded dot segments, encoded slashes and backslashes, and fetches nothing', async () => {
    const store = await makeTempDir();
    const from = host.requested.length;
    const attacks = [
      '/models/%2e%2e/secret.mar', // what the query string `%252e%252e` and a JSON body `%2e%2e` give
      '/models/%2E%2e/secret.mar',
      '/models/.%2e/secret.mar',
      '/models/%252e%252e/secret.mar',
      '/models/x/%2e%2e%2f%2e%2e%2fsecret.mar',
      '/models/%5c..%5csecret.mar',
      '/models/\\..\\secret.mar',
      '/models/.\t./secret.mar',
      '/models/.%0a./secret.mar',
    ];
    for (const p of attacks) {
      await assert.rejects(resolveModelUrl(`${host.base}${p}`, opts(store)), ModelNotFoundException, p);
    }
    assert.deepEqual(host.requested.slice(from), []);
    assert.deepEqual(await fs.readdir(store), []);
  });

  it('refuses user information, which makes a sloppy pattern match another host', async () => {
    const store = await makeTempDir();
    const sloppy = /http:\/\/trusted\.example.*/;
    const from = host.requested.length;
    await refused(resolveModelUrl(`http://trusted.example@127.0.0.1:${host.port}/secret.mar`, opts(store, [sloppy])), /user information/);
    assert.deepEqual(host.requested.slice(from), []);
  });

  it('checks every redirect hop in its canonical form', async () => {
    const store = await makeTempDir();
    const from = host.requested.length;
    const hops = [
      `/models/%2e%2e/secret.mar`,
      `/models/%252e%252e/secret.mar`,
      `http://trusted.example@127.0.0.1:${host.port}/secret.mar`,
      `http://localhost:${host.port}/models/good.mar`,
      redirectPath('/models', '/secret.mar'), // a chain: allowed, allowed, then out
    ];
    for (const location of hops) {
      const url = `${host.base}${redirectPath('/models', location)}`;
      await assert.rejects(resolveModelUrl(url, opts(store)), /Failed to download archive/, location);
    }
    assertNothingOutside(from, allowed);
    // A chain that stays inside is followed to the end.
    const ok = await resolveModelUrl(`${host.base}${redirectPath('/models', redirectPath('/models', '/models/good.mar'))}`, opts(store));
    assert.deepEqual(await fs.readFile(ok.source), GOOD);
  });
});

describe('allowed_urls attacks with local files', () => {
  /** `<root>/model-store`, its look-alike siblings, an allowed directory with links out of it. */
  async function layout(): Promise<Record<string, string>> {
    const root = await fs.realpath(await makeTempDir());
    const dirs: Record<string, string> = {
      root,
      store: path.join(root, 'model-store'),
      old: path.join(root, 'model-store-old'),
      bak: path.join(root, 'model-store.bak'),
      allowed: path.join(root, 'allowed'),
      outside: path.join(root, 'outside'),
    };
    for (const d of ['store', 'old', 'bak', 'allowed', 'outside']) {
      await fs.mkdir(path.join(dirs[d]!, `${d}-model`), { recursive: true });
      await fs.writeFile(path.join(dirs[d]!, `${d}-model`, 'MANIFEST'), d);
      await fs.writeFile(path.join(dirs[d]!, `${d}.mar`), d);
    }
    await fs.symlink(path.join(dirs.outside!, 'outside.mar'), path.join(dirs.allowed!, 'link.mar'));
    await fs.symlink(dirs.outside!, path.join(dirs.allowed!, 'dirlink'));
    // Store entries that are links to the siblings: their real paths start with the store's path.
    await fs.symlink(path.join(dirs.old!, 'old-model'), path.join(dirs.store!, 'old-link'));
    await fs.symlink(path.join(dirs.bak!, 'bak-model'), path.join(dirs.store!, 'bak-link'));
    await fs.symlink(path.join(dirs.outside!, 'outside-model'), path.join(dirs.store!, 'outside-link'));
    return dirs;
  }

  it('matches a file:// URL by its real path, so a link in an allowed directory cannot lead out of it', async () => {
    const d = await layout();
    const opts = { modelStore: d.store!, allowedUrls: [new RegExp(`file://${d.allowed}/.*`)] };
    const good = pathToFileURL(path.join(d.allowed!, 'allowed.mar')).href;
    assert.deepEqual(await resolveModelUrl(good, opts), { source: path.join(d.allowed!, 'allowed.mar'), downloadedFile: null });
    for (const url of [`file://${d.allowed}/link.mar`, `file://${d.allowed}/dirlink/outside.mar`]) {
      await refused(resolveModelUrl(url, opts), /does not match any allowed URL/);
    }
    await refused(resolveModelUrl(`file://${d.allowed}/%2e%2e/outside/outside.mar`, opts), /Relative path is not allowed/);
    await refused(resolveModelUrl(`file://${d.allowed}/%2e%2e%2foutside/outside.mar`, opts), /Relative path is not allowed/);
  });

  it('serves a directory given as a path only inside the model store, never from its look-alike siblings', async () => {
    const d = await layout();
    const httpOnly = { modelStore: d.store!, allowedUrls: [/https:\/\/models\.example\/.*/] };
    assert.deepEqual(await resolveModelUrl(path.join(d.store!, 'store-model'), httpOnly), { source: path.join(d.store!, 'store-model'), downloadedFile: null });
    for (const dir of [path.join(d.old!, 'old-model'), path.join(d.bak!, 'bak-model'), path.join(d.outside!, 'outside-model')]) {
      await refused(resolveModelUrl(dir, httpOnly), /does not match any allowed URL/);
    }
    // An absolute path to a store entry that is a symbolic link out of the store, and the entry by name.
    for (const entry of ['old-link', 'bak-link', 'outside-link']) {
      await refused(resolveModelUrl(path.join(d.store!, entry), httpOnly), /does not match any allowed URL|links outside the model store/);
      await refused(resolveModelUrl(entry, httpOnly), /links outside the model store/);
    }
  });

  it('serves a directory outside the model store when allowed_urls allows its real path as a file:// URL', async () => {
    const d = await layout();
    const opts = { modelStore: d.store!, allowedUrls: [new RegExp(`file://${d.old}/.*`)] };
    assert.deepEqual(await resolveModelUrl(path.join(d.old!, 'old-model'), opts), { source: path.join(d.old!, 'old-model'), downloadedFile: null });
    await refused(resolveModelUrl(path.join(d.bak!, 'bak-model'), opts), /does not match any allowed URL/);
  });
});
