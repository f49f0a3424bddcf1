/**
 * The built-in `image_classifier` handler (TorchServe's ts/torch_handler/image_classifier.py) for ONNX
 * exports of torchvision-style classifiers: [N, 3, 224, 224] float32 in, [N, classes] logits out. Each
 * image is answered with its `topk` best classes as `{label: probability}`, best first, the labels from
 * index_to_name.json. Preprocessing and settings: vision/settings.ts; several images of a batch run in
 * one session run.
 */
import type ort from 'onnxruntime-node';
import type { ResponseValue } from '../handler-api/index.js';
import { softmax } from './text/batch.js';
import { runImages } from './vision/model-io.js';
import type { VisionKind } from './vision/settings.js';
import type { ChwTensor } from './vision/transforms.js';
import { VisionHandler, type VisionResults } from './vision/vision-handler.js';

/** One image's classes, best first. */
type Ranked = Array<[label: string, probability: number]>;

const INTEGER_KEY = /^(0|[1-9]\d*)$/;

/**
 * `{label: probability}` in rank order. JavaScript orders integer-like keys numerically, so when a
 * label is one ("3" without index_to_name.json) the object is written as JSON text, in rank order, as
 * Python's dict keeps it.
 */
function rankedJson(ranked: Ranked): string {
  return `{${ranked.map(([label, p]) => `\n  ${JSON.stringify(label)}: ${JSON.stringify(p)}`).join(',')}\n}`;
}

export default class ImageClassifierHandler extends VisionHandler<Ranked> {
  protected readonly kind: VisionKind = 'image_classifier';
  protected async run(images: ChwTensor[]): Promise<Ranked[]> {
    const session = this.session as ort.InferenceSession;
    return runImages(session, this.input, images, (outputs, count) => {
      const logits = outputs[session.outputNames[0] as string] as ort.Tensor;
      const classes = logits.dims[logits.dims.length - 1] as number;
      const values = logits.data as Float32Array;
      const ranked: Ranked[] = [];
      for (let i = 0; i < count; i++) {
        const probs = softmax(values.subarray(i * classes, (i + 1) * classes));
        const order = probs.map((p, c) => [c, p] as const).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
        ranked.push(order.slice(0, this.settings.topk).map(([c, p]) => [this.label(c), p]));
      }
      return ranked;
    });
  }

  override postprocess(output: VisionResults<Ranked>): ResponseValue[] {
    return super.postprocess(output).map((value, idx) => {
      const request = output.requests[idx];
      if (request?.kind !== 'valid') return value;
      if (!request.results.some((r) => r.some(([label]) => INTEGER_KEY.test(label)))) {
        const objects = request.results.map((r) => Object.fromEntries(r));
        return request.many ? objects : objects[0];
      }
      const texts = request.results.map(rankedJson);
      return request.many ? `[${texts.join(', ')}]` : texts[0];
    });
  }

  override describeHandle(): ResponseValue {
    return { ...(super.describeHandle() as object), topk: this.settings.topk };
  }
}
