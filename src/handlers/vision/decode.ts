/**
 * Decodes image bytes with sharp (libvips) into 8-bit RGB, in the worker that runs the handler (never on
 * the HTTP thread). Every format libvips reads is accepted (JPEG, PNG, WebP, GIF, TIFF, AVIF, ...);
 * like PIL's `convert('RGB')`, grey images are repeated on three channels and alpha is dropped (not
 * blended), and EXIF orientation is not applied. Refused with a client error: bytes that are not an
 * image, truncated or corrupt files, and images over the pixel limit, which is checked from the header
 * before any pixel is decoded (a decompression bomb never gets its memory).
 */
import sharp from 'sharp';
import type { RgbImage } from './pil-resize.js';

// Each request's image is decoded once: libvips' operation cache would only hold memory.
sharp.cache(false);

/** An image the handler cannot use; the message is for the client (answered with 400). */
export class ImageInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageInputError';
  }
}

function reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // libvips messages can span lines ("VipsJpeg: ...\nvips2png: ..."); the first says what was wrong.
  return text.split('\n')[0]?.trim() ?? text;
}

export async function decodeImage(bytes: Uint8Array, maxPixels: number): Promise<RgbImage> {
  if (bytes.byteLength === 0) throw new ImageInputError('The image is empty');
  let width: number;
  let height: number;
  try {
    // Only the header is read here; the limit is checked below, with a message that gives the size.
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    width = meta.width ?? 0;
    height = meta.height ?? 0;
  } catch (err) {
    throw new ImageInputError(`The input is not an image that can be decoded (JPEG, PNG, WebP, GIF, TIFF, ...): ${reason(err)}`);
  }
  if (width * height > maxPixels) {
    throw new ImageInputError(`The image has ${width} x ${height} = ${width * height} pixels, more than the limit of ${maxPixels} (handler.max_image_pixels)`);
  }
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated' })
      // The embedded ICC profile is not applied, as PIL does not apply it.
      .keepIccProfile()
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (err) {
    throw new ImageInputError(`The image could not be decoded (truncated or corrupt?): ${reason(err)}`);
  }
}
