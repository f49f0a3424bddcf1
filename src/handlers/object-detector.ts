/**
 * The built-in `object_detector` handler (TorchServe's ts/torch_handler/object_detector.py) for ONNX
 * exports of torchvision-style detectors: one [3, H, W] image (or [1, 3, H, W]) in, `boxes` [N, 4]
 * (x1, y1, x2, y2), `labels` [N] and `scores` [N] out. Each image is answered with
 * `[{label: [x1, y1, x2, y2], "score": s}]` for the detections scoring at least `threshold` (0.5), in
 * the model's order. The image is fed as decoded (`ToTensor`), unless model-config.yaml sets a transform.
 */
import type ort from 'onnxruntime-node';
import type { Context } from '../handler-api/index.js';
import { runImages, type ImageInput } from './vision/model-io.js';
import type { VisionKind } from './vision/settings.js';
import type { ChwTensor } from './vision/transforms.js';
import { VisionHandler } from './vision/vision-handler.js';

type Detection = Record<string, number[] | number>;

function outputNamed(outputs: ort.InferenceSession.OnnxValueMapType, names: readonly string[], wanted: string, position: number): ort.Tensor {
  const tensor = outputs[wanted] ?? outputs[names[position] as string];
  if (!tensor) throw new Error(`object_detector: the model has no "${wanted}" output`);
  return tensor as ort.Tensor;
}

export default class ObjectDetectorHandler extends VisionHandler<Detection[]> {
  protected readonly kind: VisionKind = 'object_detector';
  override async initialize(context: Context): Promise<void> {
    await super.initialize(context);
    const session = this.session as ort.InferenceSession;
    if (session.outputNames.length < 3) throw new Error('object_detector needs a model with boxes, labels and scores outputs');
  }

  protected async run(images: ChwTensor[]): Promise<Detection[][]> {
    const session = this.session as ort.InferenceSession;
    // Detection exports take one image per run (their outputs have no batch dimension).
    const single: ImageInput = { ...this.input, fixedBatch: true };
    return runImages(session, single, images, (outputs) => {
      const names = session.outputNames;
      const boxes = outputNamed(outputs, names, 'boxes', 0).data as Float32Array;
      const labels = outputNamed(outputs, names, 'labels', 1).data as BigInt64Array | Int32Array | Float32Array;
      const scores = outputNamed(outputs, names, 'scores', 2).data as Float32Array;
      const found: Detection[] = [];
      for (let i = 0; i < scores.length; i++) {
        const score = scores[i] as number;
        if (!(score >= this.settings.threshold)) continue;
        const box = Array.from(boxes.subarray(i * 4, i * 4 + 4));
        found.push({ [this.label(Number(labels[i]))]: box, score });
      }
      return [found];
    });
  }
}
