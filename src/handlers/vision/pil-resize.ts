/**
 * PIL's bilinear resize of 8-bit RGB images (Pillow's `Resample.c`: `precompute_coeffs`,
 * `normalize_coeffs_8bpc`, a horizontal then a vertical pass with 22-bit fixed-point weights and an
 * 8-bit image between the passes), which torchvision's `Resize` calls on PIL images.
 *
 * Why not libvips' resize (sharp's `resize`): TorchServe's handlers resize with PIL, and libvips rounds
 * and places its kernels differently. Resizing the fixture photographs (test/fixtures/vision/images) to
 * a shorter side of 256, sharp's `linear` kernel differed from PIL by up to 9 levels (mean 0.18 per
 * value), `cubic` and `lanczos3` by up to 40 and 60; this port matches PIL to the bit, so ortserve feeds
 * the model the tensor TorchServe feeds it (test/handlers/vision/parity.test.ts).
 */

const PRECISION_BITS = 32 - 8 - 2;

interface Coefficients {
  /** Per output pixel: first input pixel and number of taps. */
  bounds: Int32Array;
  /** Per output pixel, `ksize` fixed-point weights. */
  weights: Int32Array;
  ksize: number;
}

function bilinear(x: number): number {
  const ax = Math.abs(x);
  return ax < 1 ? 1 - ax : 0;
}

/** Pillow's `precompute_coeffs` for the bilinear filter (support 1), then `normalize_coeffs_8bpc`. */
function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterScale;
    // C's (int) cast truncates toward zero; the operands here are never below -0.5.
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bilinear((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      const v = x < xmax && ww !== 0 ? (k[x] as number) / ww : 0;
      weights[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, weights, ksize };
}

function clip8(v: number): number {
  if (v < 0) return 0;
  const shifted = Math.floor(v / (1 << PRECISION_BITS));
  return shifted > 255 ? 255 : shifted;
}

/** An interleaved 8-bit image. */
export interface RgbImage {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

function horizontal(src: RgbImage, outWidth: number): RgbImage {
  const { bounds, weights, ksize } = coefficients(src.width, outWidth);
  const c = src.channels;
  const out = new Uint8Array(outWidth * src.height * c);
  const half = 1 << (PRECISION_BITS - 1);
  for (let y = 0; y < src.height; y++) {
    const row = y * src.width * c;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = bounds[xx * 2] as number;
      const xmax = bounds[xx * 2 + 1] as number;
      for (let ch = 0; ch < c; ch++) {
        // Sums stay below 2^53 (255 · 2^22 · taps), so float64 arithmetic is exact like C's int32.
        let ss = half;
        for (let x = 0; x < xmax; x++) ss += (src.data[row + (x + xmin) * c + ch] as number) * (weights[xx * ksize + x] as number);
        out[(y * outWidth + xx) * c + ch] = clip8(ss);
      }
    }
  }
  return { width: outWidth, height: src.height, channels: c, data: out };
}

function vertical(src: RgbImage, outHeight: number): RgbImage {
  const { bounds, weights, ksize } = coefficients(src.height, outHeight);
  const c = src.channels;
  const stride = src.width * c;
  const out = new Uint8Array(outHeight * stride);
  const half = 1 << (PRECISION_BITS - 1);
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = bounds[yy * 2] as number;
    const ymax = bounds[yy * 2 + 1] as number;
    for (let i = 0; i < stride; i++) {
      let ss = half;
      for (let y = 0; y < ymax; y++) ss += (src.data[(y + ymin) * stride + i] as number) * (weights[yy * ksize + y] as number);
      out[yy * stride + i] = clip8(ss);
    }
  }
  return { width: src.width, height: outHeight, channels: c, data: out };
}

/** `Image.resize((width, height), Image.BILINEAR)` of Pillow. */
export function pilBilinearResize(src: RgbImage, width: number, height: number): RgbImage {
  let img = src;
  if (width !== img.width) img = horizontal(img, width);
  if (height !== img.height) img = vertical(img, height);
  return img;
}
