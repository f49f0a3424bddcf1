/**
 * Writes the ORT-format file of an ONNX model, in a process of its own (model-session.ts starts it):
 * the conversion holds the whole model and ONNX Runtime's optimizer state, and memory the allocator
 * keeps after it would otherwise stay in the server for good (measured: +130 MiB for the fp32 base
 * model). Arguments: the .onnx file, the output file, and the session options as JSON.
 */
import ort from 'onnxruntime-node';

async function main(): Promise<void> {
  const [file, out, json] = process.argv.slice(2);
  if (!file || !out || !json) throw new Error('usage: ort-convert-main <model.onnx> <out.ort> <options-json>');
  const options = JSON.parse(json) as ort.InferenceSession.SessionOptions;
  const extra = options.extra as { session?: Record<string, unknown> } | undefined;
  const session = await ort.InferenceSession.create(file, {
    ...options,
    // The warning that the file is tied to this CPU is expected: the cache key includes the CPU.
    logSeverityLevel: 3,
    optimizedModelFilePath: out,
    extra: { ...extra, session: { ...extra?.session, save_model_format: 'ORT' } },
  });
  await session.release();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
