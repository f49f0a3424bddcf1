/**
 * torchvision's Resize(int) → CenterCrop(int) → ToTensor → Normalize on a decoded RGB image, with the
 * same arithmetic: PIL's bilinear resize (pil-resize.ts), torchvision's output-size and crop-offset
 * rounding, and float32 `(x / 255 - mean) / std`.
 */
import { pilBilinearResize, type RgbImage } from './pil-resize.js';
import type { ImageTransform } from './settings.js';

/** A [3, height, width] float32 tensor, channel-major. */
export interface ChwTensor {
  height: number;
  width: number;
  data: Float32Array;
}

/** torchvision's `_compute_resized_output_size` for an int size: the shorter side becomes `size`. */
export function resizedSize(width: number, height: number, size: number): { width: number; height: number } {
  if (width <= height) return { width: size, height: Math.trunc((size * height) / width) };
  return { width: Math.trunc((size * width) / height), height: size };
}

/** Python's round(): halves go to the even neighbour (torchvision's crop offsets use it). */
function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torchvision's `center_crop` of a PIL image: zero padding when the image is smaller, then the crop. */
export function centerCrop(img: RgbImage, size: number): RgbImage {
  const c = img.channels;
  // Padding as torchvision does it: [left, top] = floor((crop - size) / 2) when the image is smaller.
  const padLeft = size > img.width ? Math.floor((size - img.width) / 2) : 0;
  const padTop = size > img.height ? Math.floor((size - img.height) / 2) : 0;
  const paddedW = Math.max(img.width, size);
  const paddedH = Math.max(img.height, size);
  const top = pyRound((paddedH - size) / 2);
  const left = pyRound((paddedW - size) / 2);
  const out = new Uint8Array(size * size * c);
  for (let y = 0; y < size; y++) {
    const sy = y + top - padTop;
    if (sy < 0 || sy >= img.height) continue;
    for (let x = 0; x < size; x++) {
      const sx = x + left - padLeft;
      if (sx < 0 || sx >= img.width) continue;
      for (let ch = 0; ch < c; ch++) out[(y * size + x) * c + ch] = img.data[(sy * img.width + sx) * c + ch] as number;
    }
  }
  return { width: size, height: size, channels: c, data: out };
}

/** Resize, crop and normalise one decoded image into a CHW float32 tensor. */
export function toTensor(decoded: RgbImage, t: ImageTransform): ChwTensor {
  let img = decoded;
  if (t.resize !== null) {
    const target = resizedSize(img.width, img.height, t.resize);
    img = pilBilinearResize(img, target.width, target.height);
  }
  if (t.crop !== null) img = centerCrop(img, t.crop);
  const plane = img.width * img.height;
  const data = new Float32Array(3 * plane);
  const mean = t.mean?.map(Math.fround) ?? [0, 0, 0];
  const std = t.std?.map(Math.fround) ?? [1, 1, 1];
  for (let ch = 0; ch < 3; ch++) {
    const m = mean[ch] as number;
    const s = std[ch] as number;
    for (let i = 0; i < plane; i++) {
      // float32 at each step, as torch computes ToTensor's division and Normalize's sub/div.
      const x = Math.fround((img.data[i * img.channels + ch] as number) / 255);
      data[ch * plane + i] = Math.fround(Math.fround(x - m) / s);
    }
  }
  return { height: img.height, width: img.width, data };
}
