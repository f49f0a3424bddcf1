/**
 * Settings of the vision handlers, from model-config.yaml's `handler:` section. The defaults are
 * TorchServe's: image_classifier and image_segmenter resize the shorter side to 256, crop the centre
 * 224 × 224 and normalise with ImageNet's mean and std; object_detector feeds the decoded image as it is
 * (`ToTensor` only) and keeps detections scoring at least 0.5; the classifier answers the 5 best classes.
 */

/** How an image becomes a model input (torchvision's Resize → CenterCrop → ToTensor → Normalize). */
export interface ImageTransform {
  /** Shorter side after resizing, or null to keep the decoded size. */
  resize: number | null;
  /** Side of the centre crop, or null for no crop. */
  crop: number | null;
  /** Per-channel mean and std (RGB), or null for no normalisation (values in [0, 1]). */
  mean: [number, number, number] | null;
  std: [number, number, number] | null;
}

export interface VisionSettings {
  transform: ImageTransform;
  /** Images with more pixels are refused before decoding (PIL's decompression-bomb warning threshold). */
  maxImagePixels: number;
  /** image_classifier: classes per answer. */
  topk: number;
  /** object_detector: lowest score kept. */
  threshold: number;
}

/** PIL's `Image.MAX_IMAGE_PIXELS`, above which TorchServe's PIL path warns of a decompression bomb. */
export const PIL_MAX_IMAGE_PIXELS = 89_478_485;

const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

export type VisionKind = 'image_classifier' | 'image_segmenter' | 'object_detector';

export function defaultSettings(kind: VisionKind): VisionSettings {
  const imagenet: ImageTransform = { resize: 256, crop: 224, mean: IMAGENET_MEAN, std: IMAGENET_STD };
  const asIs: ImageTransform = { resize: null, crop: null, mean: null, std: null };
  return { transform: kind === 'object_detector' ? asIs : imagenet, maxImagePixels: PIL_MAX_IMAGE_PIXELS, topk: 5, threshold: 0.5 };
}

/** A model-config.yaml setting that cannot be used; registration fails with this message. */
export class VisionSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VisionSettingsError';
  }
}

function positiveInt(key: string, value: unknown, max: number): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) {
    throw new VisionSettingsError(`handler.${key} must be an integer from 1 to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function sizeOrNull(key: string, value: unknown): number | null {
  return value === null || value === false || value === 'none' ? null : positiveInt(key, value, 8192);
}

function triple(key: string, value: unknown, positive: boolean): [number, number, number] | null {
  if (value === null || value === false || value === 'none') return null;
  if (!Array.isArray(value) || value.length !== 3 || !value.every((v) => typeof v === 'number' && Number.isFinite(v) && (!positive || v > 0))) {
    throw new VisionSettingsError(`handler.${key} must be a list of 3 ${positive ? 'positive ' : ''}numbers (R, G, B), got ${JSON.stringify(value)}`);
  }
  return value as [number, number, number];
}

/** The kind's defaults overridden by model-config.yaml's `handler:` section (values may be strings). */
export function readVisionSettings(kind: VisionKind, handler: Record<string, unknown>): VisionSettings {
  const s = defaultSettings(kind);
  const t = s.transform;
  if ('resize' in handler) t.resize = sizeOrNull('resize', handler['resize']);
  if ('crop' in handler) t.crop = sizeOrNull('crop', handler['crop']);
  if ('mean' in handler) t.mean = triple('mean', handler['mean'], false);
  if ('std' in handler) t.std = triple('std', handler['std'], true);
  if ((t.mean === null) !== (t.std === null)) throw new VisionSettingsError('handler.mean and handler.std must be set (or unset) together');
  if ('max_image_pixels' in handler) s.maxImagePixels = positiveInt('max_image_pixels', handler['max_image_pixels'], 1_000_000_000);
  if ('topk' in handler) s.topk = positiveInt('topk', handler['topk'], 100_000);
  if ('threshold' in handler) {
    const v = typeof handler['threshold'] === 'string' ? Number(handler['threshold']) : handler['threshold'];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new VisionSettingsError(`handler.threshold must be a number, got ${JSON.stringify(handler['threshold'])}`);
    s.threshold = v;
  }
  return s;
}
