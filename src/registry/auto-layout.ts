/**
 * workers=auto (issue 16): once a version's first workers loaded, calibration threads time every layout
 * of workers × intra-op threads that fits the cores, at each candidate batch size, on synthetic inputs of
 * the model's shapes; the version is then re-laid out with the fastest. Calibration runs in worker threads,
 * so `/ping` and other models are answered meanwhile; the version keeps serving with its first workers.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { chooseOperatingPoint } from '../scheduling/operating-point.js';
import { calibrate } from '../workers/calibration.js';
import type { ModelVersion } from './model-version.js';

/** Padded tokens per synthetic sequence: the bench corpus averages 47 real tokens, 85 % are under 64. */
export const CALIBRATION_LENGTH = 64;
/** Timed session runs per candidate (after one warm-up run). */
export const CALIBRATION_RUNS = 3;

/** Calibrates `v` and applies the result; failures leave the first layout, with the reason in its operating point. */
export async function autoTune(v: ModelVersion, cores = availableParallelism()): Promise<void> {
  const file = v.archive.manifest.model.serializedFile;
  const start = v.operatingPoint;
  if (!file || !file.endsWith('.onnx')) {
    v.operatingPoint = { ...start, source: 'default', reason: 'not calibrated: the archive has no .onnx serializedFile' };
    return;
  }
  v.operatingPoint = { ...start, source: 'calibrating', reason: 'calibration under way' };
  try {
    const measured = await calibrate({
      file: path.join(v.archive.modelDir, file),
      cacheDir: v.sharedWeightsDir,
      cores,
      batchSize: v.settings.batchSize,
      maxBatchTokens: v.settings.maxBatchTokens,
      length: Math.min(CALIBRATION_LENGTH, v.settings.maxSequenceTokens),
      runs: CALIBRATION_RUNS,
    }, v.calibrationStop.signal);
    if (!v.settings.autoLayout) return;
    const point = chooseOperatingPoint(measured, cores, v.settings.batchSize);
    if (point === null) {
      v.operatingPoint = { ...start, source: 'default', reason: 'not calibrated: no candidate could be measured' };
      return;
    }
    if (point.workers !== start.workers || point.intraOpThreads !== start.intraOpThreads) await v.relayout(point.workers);
    if (v.settings.autoLayout) v.operatingPoint = point;
  } catch (err) {
    if (!v.settings.autoLayout) return;
    const why = err instanceof Error ? err.message : String(err);
    console.warn(`[${v.name} ${v.version}] calibration failed, keeping ${start.workers} × ${start.intraOpThreads}: ${why}`);
    v.operatingPoint = { ...start, source: 'default', reason: `not calibrated: ${why}` };
  }
}
