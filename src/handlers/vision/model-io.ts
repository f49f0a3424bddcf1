/**
 * Running an image model on a list of CHW tensors: stacked in one session run when the images share a
 * size and the model's batch dimension is free, one run per image otherwise.
 */
import ort from 'onnxruntime-node';
import type { ChwTensor } from './transforms.js';

/** The model's (first) input: its name, and whether it takes [N, 3, H, W] or a single [3, H, W]. */
export interface ImageInput {
  name: string;
  rank: 3 | 4;
  /** The batch dimension is fixed (e.g. 1): images run one at a time. */
  fixedBatch: boolean;
}

export function imageInput(session: ort.InferenceSession, who: string): ImageInput {
  const meta = session.inputMetadata[0];
  if (!meta || !meta.isTensor) throw new Error(`${who} needs a model with an image tensor input`);
  const rank = meta.shape.length;
  if (rank !== 3 && rank !== 4) throw new Error(`${who} needs a [N, 3, H, W] or [3, H, W] image input, the model's "${meta.name}" has rank ${rank}`);
  if (meta.type !== 'float32') throw new Error(`${who} feeds float32 images, the model's "${meta.name}" is ${meta.type}`);
  return { name: meta.name, rank, fixedBatch: rank === 4 && typeof meta.shape[0] === 'number' };
}

/** Groups of consecutive images that can share one session run. */
function runs(images: ChwTensor[], input: ImageInput): ChwTensor[][] {
  if (input.rank === 3 || input.fixedBatch) return images.map((i) => [i]);
  const groups: ChwTensor[][] = [];
  for (const img of images) {
    const last = groups[groups.length - 1];
    if (last && last[0]!.height === img.height && last[0]!.width === img.width) last.push(img);
    else groups.push([img]);
  }
  return groups;
}

/** Runs the model on each group of images and calls `split` to cut each run's outputs per image. */
export async function runImages<R>(
  session: ort.InferenceSession,
  input: ImageInput,
  images: ChwTensor[],
  split: (outputs: ort.InferenceSession.OnnxValueMapType, count: number) => R[],
): Promise<R[]> {
  const results: R[] = [];
  for (const group of runs(images, input)) {
    const { height, width } = group[0]!;
    const plane = 3 * height * width;
    const data = new Float32Array(plane * group.length);
    group.forEach((img, i) => data.set(img.data, i * plane));
    const dims = input.rank === 3 ? [3, height, width] : [group.length, 3, height, width];
    const outputs = await session.run({ [input.name]: new ort.Tensor('float32', data, dims) });
    results.push(...split(outputs, group.length));
  }
  return results;
}
