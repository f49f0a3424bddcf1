/**
 * The three vision built-ins against TorchServe's pipeline in PyTorch (reference.json: PIL decode,
 * torchvision's Resize/CenterCrop/ToTensor/Normalize as TorchServe's handlers compose them, and the eager
 * PyTorch models that the fixture ONNX files were exported from), on photographs and synthetic images,
 * through a real server. ortserve decodes with libvips and resizes with its port of PIL's bilinear
 * filter: the pixels are identical to PIL's, so what remains is float arithmetic (ONNX Runtime against
 * eager PyTorch, float64 against float32 softmax): probabilities agree within 1e-5 (measured: at most 6e-7, boxes within 1e-5 px).
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../../support/server.js';
import { image, predict, readReference, VISION_IMAGES, writeVisionMar } from '../../support/vision.js';

const TOLERANCE = 1e-5;
const LABELS = ['red', 'green', 'blue', 'gray'];
const DETECTOR_LABELS = ['__background__', 'square', 'disc'];
const reference = readReference();
const images = readdirSync(VISION_IMAGES).filter((n) => /\.(png|jpg)$/.test(n)).sort();

describe('vision handlers match the PyTorch reference pipeline', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
    for (const fixture of ['classifier', 'segmenter', 'detector'] as const) {
      writeVisionMar(s.modelStore, fixture);
      await s.register(`url=${fixture}.mar&initial_workers=1&synchronous=true`);
    }
  });
  after(() => s.stop());

  it('has reference answers for every test image, with different top-1 classes', () => {
    assert.deepEqual(Object.keys(reference.classifier).sort(), images);
    const top1 = new Set(Object.values(reference.classifier).map((p) => p.indexOf(Math.max(...p))));
    assert.equal(top1.size, LABELS.length, 'the fixture classifier must tell the classes apart');
  });

  it('image_classifier: top-5 labels in the same order and probabilities within 1e-5', async (t) => {
    let worst = 0;
    for (const name of images) {
      const { status, body } = await predict(s, 'classifier', image(name));
      assert.equal(status, 200, `${name}: ${JSON.stringify(body)}`);
      const expected = reference.classifier[name]!.map((p, i) => [LABELS[i]!, p] as const).sort((a, b) => b[1] - a[1]);
      assert.deepEqual(Object.keys(body), expected.map(([l]) => l), `${name}: ranking`);
      for (const [label, p] of expected) worst = Math.max(worst, Math.abs(body[label] - p));
    }
    t.diagnostic(`image_classifier: largest probability difference ${worst}`);
    assert.ok(worst <= TOLERANCE, `largest probability difference ${worst}`);
  });

  it('object_detector: the same detections above 0.5, boxes within 1e-3 px, scores within 1e-5', async (t) => {
    let detections = 0;
    let worstBox = 0;
    let worstScore = 0;
    for (const name of images) {
      const { status, body } = await predict(s, 'detector', image(name));
      assert.equal(status, 200, `${name}: ${JSON.stringify(body)}`);
      const expected = reference.detector[name]!.filter((d) => d.score >= 0.5);
      assert.equal(body.length, expected.length, `${name}: ${JSON.stringify(body)} vs ${JSON.stringify(expected)}`);
      body.forEach((d: Record<string, unknown>, i: number) => {
        const e = expected[i]!;
        assert.deepEqual(Object.keys(d), [DETECTOR_LABELS[e.label], 'score']);
        const box = d[DETECTOR_LABELS[e.label]!] as number[];
        box.forEach((v, k) => (worstBox = Math.max(worstBox, Math.abs(v - e.box[k]!))));
        worstScore = Math.max(worstScore, Math.abs((d['score'] as number) - e.score));
      });
      detections += body.length;
    }
    t.diagnostic(`object_detector: largest box difference ${worstBox} px, score difference ${worstScore}`);
    assert.ok(worstBox <= 1e-3 && worstScore <= TOLERANCE);
    assert.ok(detections > 0, 'the fixture detector finds objects');
  });

  it('object_detector finds each drawn object of the synthetic image, with its label', async () => {
    const { body } = await predict(s, 'detector', image('shapes-detect.png'));
    const drawn = JSON.parse(image('shapes-detect.objects.json').toString()) as Array<{ label: number; box: number[] }>;
    for (const object of drawn) {
      const hit = body.find((d: Record<string, number[]>) => {
        const box = d[DETECTOR_LABELS[object.label]!];
        return box && box.every((v, k) => Math.abs(v - object.box[k]!) < 8);
      });
      assert.ok(hit, `no detection near ${JSON.stringify(object)} in ${JSON.stringify(body)}`);
    }
  });

  it('image_segmenter: [224][224][class, probability] with the same classes and probabilities within 1e-5', async (t) => {
    for (const [name, ref] of Object.entries(reference.segmenter)) {
      const { status, body } = await predict(s, 'segmenter', image(name));
      assert.equal(status, 200);
      const classes = inflateSync(Buffer.from(ref.classes_u8_zlib_b64, 'base64'));
      const probsBytes = inflateSync(Buffer.from(ref.probs_f32_zlib_b64, 'base64'));
      const probs = new Float32Array(probsBytes.buffer, probsBytes.byteOffset, probsBytes.byteLength / 4);
      const [h, w] = ref.shape;
      assert.equal(body.length, h);
      assert.equal(body[0].length, w);
      let worst = 0;
      const seen = new Set<number>();
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const [c, p] = body[y][x] as [number, number];
          assert.equal(c, classes[y * w + x], `${name} pixel (${x}, ${y})`);
          seen.add(c);
          worst = Math.max(worst, Math.abs(p - probs[y * w + x]!));
        }
      }
      t.diagnostic(`image_segmenter ${name}: largest probability difference ${worst}`);
      assert.ok(worst <= TOLERANCE, `${name}: largest probability difference ${worst}`);
      if (name.startsWith('shapes')) assert.equal(seen.size, 3, 'background, red and blue pixels are found');
    }
  });
});
