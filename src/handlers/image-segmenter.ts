/**
 * The built-in `image_segmenter` handler (TorchServe's ts/torch_handler/image_segmenter.py) for ONNX
 * exports of torchvision-style segmentation models: [N, 3, H, W] in, `out` [N, classes, H, W] out (the
 * `out` of torchvision's segmentation models). As TorchServe, each image is answered with the best class
 * of every pixel and its probability, `[H][W][class, probability]` (softmax over the classes).
 */
import type ort from 'onnxruntime-node';
import { runImages } from './vision/model-io.js';
import type { VisionKind } from './vision/settings.js';
import type { ChwTensor } from './vision/transforms.js';
import { VisionHandler } from './vision/vision-handler.js';

type PixelClasses = Array<Array<[number, number]>>;

export default class ImageSegmenterHandler extends VisionHandler<PixelClasses> {
  protected readonly kind: VisionKind = 'image_segmenter';
  protected async run(images: ChwTensor[]): Promise<PixelClasses[]> {
    const session = this.session as ort.InferenceSession;
    return runImages(session, this.input, images, (outputs, count) => {
      const out = (outputs['out'] ?? outputs[session.outputNames[0] as string]) as ort.Tensor;
      if (out.dims.length !== 4) throw new Error(`image_segmenter: the model output is not [N, classes, H, W] (dims [${out.dims.join(', ')}])`);
      const [, classes, height, width] = out.dims as [number, number, number, number];
      const values = out.data as Float32Array;
      const plane = height * width;
      const answers: PixelClasses[] = [];
      for (let n = 0; n < count; n++) {
        const base = n * classes * plane;
        const rows: PixelClasses = [];
        for (let y = 0; y < height; y++) {
          const row: Array<[number, number]> = [];
          for (let x = 0; x < width; x++) {
            const at = base + y * width + x;
            let best = 0;
            let max = -Infinity;
            for (let c = 0; c < classes; c++) {
              const v = values[at + c * plane] as number;
              if (v > max) {
                max = v;
                best = c;
              }
            }
            // Softmax probability of the best class: 1 / Σ exp(v_c − max).
            let sum = 0;
            for (let c = 0; c < classes; c++) sum += Math.exp((values[at + c * plane] as number) - max);
            row.push([best, 1 / sum]);
          }
          rows.push(row);
        }
        answers.push(rows);
      }
      return answers;
    });
  }
}
