/**
 * `npm run bench`'s image section: the image-classifier row of bench/vision.ts (decode cost, raw ONNX
 * Runtime on the same decoded images, the server at concurrency 1 and 32, interleaved) on the fixture
 * classifier and test images, with the run's repeats.
 */
import { defaultVisionOptions, measureVision, renderVision, type VisionBenchResult } from './vision.js';
import type { BenchOptions } from './options.js';

export type ImageSectionResult = VisionBenchResult;

export function runImageSection(o: BenchOptions): Promise<ImageSectionResult> {
  // Each repeat runs four loads of this length; 5 s (3 with --quick) keeps the section near a minute.
  return measureVision({ ...defaultVisionOptions(), seconds: o.quick ? 3 : 5, repeats: o.repeats });
}

/** The report's subsection (Markdown lines). */
export function renderImageSection(r: ImageSectionResult): string[] {
  return ['### Image classifier (bench/section-image.ts)', '', renderVision(r), ''];
}
