/**
 * Property tests of allowed_urls (issue 13): generated registration URLs (mixed and double encodings,
 * dot segments, backslashes, user information, ports, case, other spellings of the host, chains of
 * redirects) against a loopback model host that logs every request it receives. Whatever the URL,
 * every request the host sees must match the allowed pattern, and stay under its prefix even when
 * decoded as far as it goes; a download, when there is one, is an archive from under the prefix.
 * The file:// variant does the same with symbolic links and look-alike directories: whatever is
 * resolved is really inside the allowed directory or the model store.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { resolveModelUrl } from '../../src/archive/resolve-url.js';
import { isInside } from '../../src/archive/url-policy.js';
import { DownloadArchiveException, InternalServerException, ModelNotFoundException } from '../../src/errors.js';
import { makeTempDir } from '../archive/helpers.js';
import { mostDecodedPath, redirectPath, startModelHost, type ModelHost } from '../support/model-host.js';
import { params, settlesOrThrows, trapUnhandled } from './support.js';

const TYPED = [ModelNotFoundException, DownloadArchiveException, InternalServerException];

/** Path pieces that mean something to a URL parser or to a lenient server. */
const SEGMENTS = [
  'models', 'MODELS', '%6dodels', 'sub', 'good.mar', 'secret.mar', '%73ecret.mar',
  '..', '.', '%2e%2e', '%2E.', '.%2e', '%252e%252e', '%25252e', '%2f', '%252f', '%5c', '%255c',
  '\\', '', '\t', '%09', '%00', ';x', '@', '%40', '?q=1', '#frag', '%3f',
];

describe('fuzz: http registration URLs never fetch outside allowed_urls', () => {
  let host: ModelHost;
  let allowed: RegExp;
  const GOOD = Buffer.from('good archive');

  before(async () => {
    host = await startModelHost({ '/models/good.mar': GOOD, '/models/sub/good.mar': GOOD, '/secret.mar': Buffer.from('secret'), '/good.mar': Buffer.from('outside') });
    allowed = new RegExp(`^(?:http://127\\.0\\.0\\.1:${host.port}/models/.*)$`, 'i');
  });
  after(() => host.close());

  it('every request the host logs is inside the pattern, also once fully decoded (400 cases)', async () => {
    const p = host.port;
    const authority = fc.constantFrom(
      `127.0.0.1:${p}`, `127.0.0.1:${p}`, `127.0.0.1:${p}`, `localhost:${p}`, `127.1:${p}`, `0x7f.0.0.1:${p}`, `2130706433:${p}`, `127.0.0.1:0${p}`,
      `127.0.0.1:${p}@localhost:${p}`, `x@127.0.0.1:${p}`, `x:y@127.0.0.1:${p}`, `[::ffff:127.0.0.1]:${p}`, `127.0.0.1`,
    );
    const scheme = fc.constantFrom('http://', 'HTTP://', 'hTtP://', 'http:/', 'http:///');
    const noisyPath = fc
      .tuple(fc.array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 6 }), fc.array(fc.constantFrom('/', '\\', '%2f', '//'), { minLength: 6, maxLength: 6 }))
      .map(([segs, seps]) => segs.map((s, i) => `${seps[i]}${s}`).join(''));
    // Paths that are fine, so that enough cases reach the host and download.
    const goodPath = fc.constantFrom('/models/good.mar', '/models/sub/good.mar', '/%6dodels/good.mar', '/models/./sub/good.mar', '/models/sub/%2e/good.mar', '/models//good.mar');
    const pathPart = fc.oneof({ weight: 1, arbitrary: goodPath }, { weight: 2, arbitrary: noisyPath });
    const plain = fc.tuple(scheme, authority, pathPart).map(([s, a, q]) => `${s}${a}${q}`);
    // A redirect chain: each hop is served by the host (under some prefix) and points to the next,
    // by an absolute URL or by a path.
    const hop = fc.tuple(fc.constantFrom('/models', '/models/sub', '', '/models/%2e%2e', '/MODELS'), fc.boolean(), fc.constantFrom(`127.0.0.1:${p}`, `localhost:${p}`));
    const url = fc.tuple(plain, fc.array(hop, { maxLength: 3 })).map(([target, hops]) => {
      let location = target;
      for (const [prefix, absolute, auth] of hops) {
        const next = redirectPath(prefix, location);
        location = absolute ? `http://${auth}${next}` : next;
      }
      return location.startsWith('/') ? `http://127.0.0.1:${p}${location}` : location;
    });

    const store = await makeTempDir('ortserve-fuzz-url-');
    const trap = trapUnhandled();
    let downloads = 0;
    let redirects = 0;
    try {
      await fc.assert(
        fc.asyncProperty(url, async (u) => {
          const from = host.requested.length;
          const r = await settlesOrThrows(
            () => resolveModelUrl(u, { modelStore: store, allowedUrls: [allowed], downloadLimits: { maxBytes: 10_000, timeoutMs: 3_000 } }),
            TYPED,
            `resolveModelUrl(${JSON.stringify(u)})`,
          );
          for (const req of host.requested.slice(from)) {
            assert.match(req, allowed, `${u} made the host fetch ${req}`);
            const decoded = mostDecodedPath(new URL(req).pathname);
            // allowed_urls is case-insensitive (as in TorchServe), so `/MODELS/` is inside the pattern.
            assert.ok(decoded.toLowerCase().startsWith('/models/'), `${u} made the host fetch ${req}, which a lenient server reads as ${decoded}`);
            if (req.includes('/r/')) redirects += 1;
          }
          if (r.ok) {
            downloads += 1;
            assert.deepEqual(await fs.readFile(r.value.source), GOOD, u);
            await fs.rm(r.value.source);
          }
          trap.check(u);
        }),
        params(1301, 400),
      );
    } finally {
      trap.dispose();
    }
    // The generator must reach the host, through redirects too, or the property says nothing.
    assert.ok(downloads > 5, `only ${downloads} downloads`);
    assert.ok(redirects > 5, `only ${redirects} redirects followed`);
  });
});

describe('fuzz: file URLs and paths never open anything outside allowed_urls or the model store', () => {
  it('whatever resolves is really inside the allowed directory or the model store (600 cases)', async () => {
    const root = await fs.realpath(await makeTempDir('ortserve-fuzz-file-'));
    const at = (...p: string[]): string => path.join(root, ...p);
    for (const dir of ['allowed/sub', 'allowed-old', 'allowed.bak', 'outside/model', 'model-store/model', 'model-store-old/model']) await fs.mkdir(at(dir), { recursive: true });
    for (const file of ['allowed/good.mar', 'allowed/sub/good.mar', 'allowed-old/secret.mar', 'allowed.bak/secret.mar', 'outside/secret.mar', 'model-store/store.mar']) await fs.writeFile(at(file), file);
    await fs.symlink(at('outside/secret.mar'), at('allowed/link.mar'));
    await fs.symlink(at('outside'), at('allowed/dirlink'));
    await fs.symlink(at('allowed-old/secret.mar'), at('allowed/old.mar'));
    await fs.symlink(at('outside/model'), at('model-store/outlink'));
    await fs.symlink(at('model-store-old/model'), at('model-store/oldlink'));
    const [realAllowed, realStore] = [at('allowed'), at('model-store')];
    const allowedUrls = [new RegExp(`file://${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/allowed/.*`)];

    const names = ['allowed', 'allowed-old', 'allowed.bak', 'outside', 'model-store', 'model-store-old', 'sub', 'model', 'good.mar', 'secret.mar', 'link.mar', 'dirlink', 'old.mar', 'outlink', 'oldlink', 'store.mar', '%61llowed'];
    const segment = fc.constantFrom(...names, '..', '.', '%2e%2e', '%2e', '%2f', '%252e%252e', '\\', '', '%00');
    const tail = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => s.join('/'));
    const prefix = fc.constantFrom(`file://${root}/`, `FILE://${root}/`, `file://localhost${root}/`, `file:${root}/`, `${root}/`, '', `file://${root}/allowed/`, `${root}/allowed/`);
    const url = fc.tuple(prefix, tail).map(([a, b]) => `${a}${b}`);

    const trap = trapUnhandled();
    let opened = 0;
    try {
      await fc.assert(
        fc.asyncProperty(url, async (u) => {
          const r = await settlesOrThrows(() => resolveModelUrl(u, { modelStore: realStore, allowedUrls }), TYPED, `resolveModelUrl(${JSON.stringify(u)})`);
          if (r.ok) {
            opened += 1;
            const real = await fs.realpath(r.value.source);
            assert.ok(isInside(realAllowed, real) || isInside(realStore, real), `${u} resolved to ${real}`);
            assert.equal(r.value.downloadedFile, null);
          }
          trap.check(u);
        }),
        params(1302, 600),
      );
    } finally {
      trap.dispose();
    }
    assert.ok(opened > 10, `only ${opened} URLs resolved`);
  });
});
