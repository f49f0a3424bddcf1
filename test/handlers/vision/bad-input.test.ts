/**
 * Bad images get 400 with a clear message, the other requests of a batch are answered, and the server
 * and its model survive: not an image, a truncated file, a 100-megapixel image, a decompression bomb
 * (a small file that decodes to a huge image), a bad base64 string, a bad tensor, a lowered pixel limit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import zlib, { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { startTestServer, type TestServer } from '../../support/server.js';
import { image, predict, writeVisionMar } from '../../support/vision.js';

function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A decompression bomb: a valid 1-bit PNG of width x height black pixels (900 megapixels for 30000 x
 * 30000, 2.7 GB once decoded to RGB) whose file is about 100 KB, the zeros deflated row by row.
 */
function pngBomb(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([1, 0, 0, 0, 0], 8); // bit depth 1, greyscale, deflate, adaptive filter, no interlace
  const row = Buffer.alloc(1 + Math.ceil(width / 8)); // filter byte 0, then zeros
  const rows = Buffer.alloc(row.length * 1000);
  const deflate = zlib.deflateSync(Buffer.concat(Array.from({ length: height / 1000 }, () => rows)), { level: 9 });
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflate), chunk('IEND', Buffer.alloc(0))]);
}

describe('vision handlers refuse bad images', () => {
  let s: TestServer;
  let bomb: Buffer;
  let huge: Buffer;
  before(async () => {
    s = await startTestServer();
    for (const fixture of ['classifier', 'detector', 'segmenter'] as const) {
      writeVisionMar(s.modelStore, fixture);
      await s.register(`url=${fixture}.mar&initial_workers=1&synchronous=true&batch_size=4&max_batch_delay=200`);
    }
    writeVisionMar(s.modelStore, 'classifier', { name: 'small', yaml: 'handler:\n  max_image_pixels: 100000\n' });
    await s.register('url=small.mar&initial_workers=1&synchronous=true');
    bomb = pngBomb(30000, 30000);
    // 100 megapixels as a JPEG.
    huge = await sharp({ create: { width: 10000, height: 10000, channels: 3, background: '#336699' } }).jpeg({ quality: 50 }).toBuffer();
  });
  after(() => s.stop());

  const expectations: Array<[string, () => Buffer | string, RegExp, Record<string, string>?]> = [
    ['text that is not an image', () => Buffer.from('hello, this is not an image'), /^The input is not an image that can be decoded \(JPEG, PNG, WebP, GIF, TIFF, \.\.\.\): /],
    ['a truncated JPEG', () => image('kitten.jpg').subarray(0, 12000), /^The image could not be decoded \(truncated or corrupt\?\): /],
    ['a 100-megapixel JPEG', () => huge, /^The image has 10000 x 10000 = 100000000 pixels, more than the limit of 89478485 \(handler\.max_image_pixels\)$/],
    ['a decompression bomb', () => bomb, /^The image has 30000 x 30000 = 900000000 pixels, more than the limit of 89478485/],
    ['a string that is not base64', () => 'not base64 at all!', /^A string input must be a base64-encoded image$/, { 'Content-Type': 'text/plain' }],
    ['a ragged tensor', () => '[[1, 2], [3]]', /^A list input must be a rectangular nested list of numbers/, { 'Content-Type': 'application/json' }],
    ['a tensor of the wrong shape', () => '[[[0.5, 0.5]]]', /^A tensor input must have the shape \[3, height, width\], got \[1, 1, 2\]$/, { 'Content-Type': 'application/json' }],
  ];

  for (const [what, body, message, headers] of expectations) {
    it(`${what}: 400 with a clear message from every vision handler`, async () => {
      for (const model of ['classifier', 'detector', 'segmenter']) {
        const r = await predict(s, model, body(), headers);
        assert.equal(r.status, 400, `${model}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.code, 400);
        assert.match(r.body.message, message, model);
      }
    });
  }

  it('keeps to handler.max_image_pixels from model-config.yaml', async () => {
    const r = await predict(s, 'small', image('kitten.jpg'));
    assert.equal(r.status, 400);
    assert.equal(r.body.message, 'The image has 451 x 300 = 135300 pixels, more than the limit of 100000 (handler.max_image_pixels)');
    assert.equal((await predict(s, 'small', image('scene-red-small.png'))).status, 200, '120 x 90 is under the limit');
  });

  it('answers the good requests of a batch that also holds bad ones', async () => {
    const bodies = [image('kitten.jpg'), Buffer.from('junk'), image('coffee.jpg'), image('kitten.jpg').subarray(0, 5000)];
    const answers = await Promise.all(bodies.map((b) => predict(s, 'classifier', b)));
    assert.deepEqual(answers.map((a) => a.status), [200, 400, 200, 400]);
    assert.deepEqual(answers[0]!.body, (await predict(s, 'classifier', image('kitten.jpg'))).body);
  });

  it('still serves every model afterwards', async () => {
    for (const model of ['classifier', 'detector', 'segmenter']) assert.equal((await predict(s, model, image('scene-red.png'))).status, 200, model);
  });
});
