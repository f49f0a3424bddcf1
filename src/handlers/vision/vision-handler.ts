/**
 * What the three vision built-ins share, as TorchServe's VisionHandler: read each request's images
 * (inputs.ts), decode them in the worker (decode.ts), turn them into tensors with the model's transform
 * (transforms.ts), and answer each request on its own: a request with a bad image gets 400 with the
 * reason while the other requests of its batch are answered.
 */
import { BaseHandler, PredictionException, type Context, type RequestRow, type ResponseValue } from '../../handler-api/index.js';
import type ort from 'onnxruntime-node';
import { decodeImage, ImageInputError } from './decode.js';
import { parseVisionRequest, type VisionInput } from './inputs.js';
import { imageInput, type ImageInput } from './model-io.js';
import { readVisionSettings, type VisionKind, type VisionSettings } from './settings.js';
import { toTensor, type ChwTensor } from './transforms.js';

/** One request after preprocessing: its images' tensors, or why it cannot be answered. */
export type PreparedRequest = { kind: 'valid'; images: ChwTensor[]; many: boolean } | { kind: 'invalid'; message: string };

export interface PreparedImages {
  requests: PreparedRequest[];
}

/** Per request, one result per image (or the reason it was refused). */
export interface VisionResults<R> {
  requests: Array<{ kind: 'valid'; results: R[]; many: boolean } | { kind: 'invalid'; message: string }>;
}

function tensorInput(input: Extract<VisionInput, { kind: 'tensor' }>): ChwTensor {
  // TorchServe stacks the lists as they are: one [3, H, W] image per request (a leading 1 is tolerated).
  const dims = input.dims.length === 4 && input.dims[0] === 1 ? input.dims.slice(1) : input.dims;
  if (dims.length !== 3 || dims[0] !== 3) {
    throw new ImageInputError(`A tensor input must have the shape [3, height, width], got [${input.dims.join(', ')}]`);
  }
  return { height: dims[1] as number, width: dims[2] as number, data: input.data };
}

export abstract class VisionHandler<R> extends BaseHandler<PreparedImages, VisionResults<R>> {
  protected abstract readonly kind: VisionKind;
  protected settings!: VisionSettings;
  /** The model's image input: its name and the batch and size it takes. */
  protected input!: ImageInput;

  override async initialize(context: Context): Promise<void> {
    await super.initialize(context);
    if (!this.session) throw new Error(`${this.kind} needs an ONNX model file (serializedFile in the manifest)`);
    this.input = imageInput(this.session as ort.InferenceSession, this.kind);
    const yaml = context.modelYamlConfig['handler'];
    this.settings = readVisionSettings(this.kind, typeof yaml === 'object' && yaml !== null ? (yaml as Record<string, unknown>) : {});
  }

  private async prepare(row: RequestRow): Promise<PreparedRequest> {
    const request = parseVisionRequest(row);
    if (request.kind === 'invalid') return request;
    try {
      const images: ChwTensor[] = [];
      for (const input of request.inputs) {
        if (input.kind === 'tensor') images.push(tensorInput(input));
        else images.push(toTensor(await decodeImage(input.bytes, this.settings.maxImagePixels), this.settings.transform));
      }
      return { kind: 'valid', images, many: request.many };
    } catch (err) {
      if (err instanceof ImageInputError) return { kind: 'invalid', message: err.message };
      throw err;
    }
  }

  async preprocess(data: RequestRow[]): Promise<PreparedImages> {
    const requests: PreparedRequest[] = [];
    for (const row of data) requests.push(await this.prepare(row));
    const firstInvalid = requests.find((r) => r.kind === 'invalid');
    // Nothing to run: fail the batch with the (first) reason, as TorchServe's PredictionException does.
    if (firstInvalid && requests.every((r) => r.kind === 'invalid')) throw new PredictionException(firstInvalid.message, 400);
    return { requests };
  }

  /** Runs the model on every image of the batch, in batch order. */
  protected abstract run(images: ChwTensor[]): Promise<R[]>;

  override async inference(input: PreparedImages): Promise<VisionResults<R>> {
    const images = input.requests.flatMap((r) => (r.kind === 'valid' ? r.images : []));
    const results = await this.run(images);
    let at = 0;
    return {
      requests: input.requests.map((r) => {
        if (r.kind === 'invalid') return r;
        const mine = results.slice(at, at + r.images.length);
        at += r.images.length;
        return { kind: 'valid', results: mine, many: r.many };
      }),
    };
  }

  postprocess(output: VisionResults<R>): ResponseValue[] {
    return output.requests.map((request, idx) => {
      if (request.kind === 'invalid') {
        this.context.setResponseStatus(400, '', idx);
        return { code: 400, type: 'BadRequestException', message: request.message };
      }
      return request.many ? request.results : request.results[0];
    });
  }

  protected label(index: number): string {
    return this.mapping?.[String(index)] ?? String(index);
  }

  override describeHandle(): ResponseValue {
    const t = this.settings.transform;
    return { handler: this.kind, resize: t.resize, crop: t.crop, mean: t.mean, std: t.std, max_image_pixels: this.settings.maxImagePixels, labels: this.mapping ?? {} };
  }
}
