/**
 * Opens a worker's ONNX Runtime session so that every worker of a model version shares one copy of the
 * weights (issue 16). onnxruntime-node has no shared-initializer API, but it passes `extra.session.*`
 * config entries through: an ORT-format file loaded memory-mapped, with initializers kept in the mapped
 * bytes and no per-session GEMM prepacking, lives once in the page cache however many sessions open it
 * (docs/benchmarks.md, "Sharing one copy of the weights").
 *
 * The ORT file is written once per version, by the first worker that needs it, into the version's cache
 * directory, in a child process (ort-convert-main.ts) so that the conversion's memory leaves with it. Its name is a hash of everything that makes it valid: the ONNX bytes, the onnxruntime
 * version, the options that shape the optimized graph, and the CPU (a graph optimized at level "all" is
 * tied to the instruction set it was written on). A changed input gives a new name, so a stale file is
 * never opened.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { link, mkdir, rm } from 'node:fs/promises';
import { arch, cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ort from 'onnxruntime-node';

const execFileAsync = promisify(execFile);
const CONVERTER = fileURLToPath(new URL('./ort-convert-main.js', import.meta.url));

/** Session config entries that make sessions of one ORT file share its bytes. */
export const SHARED_WEIGHTS_ENTRIES: Readonly<Record<string, string>> = {
  load_model_format: 'ORT',
  use_memory_mapped_ort_model: '1',
  use_ort_model_bytes_for_initializers: '1',
  // Prepacked GEMM weights are a private copy per session (177 MiB for the fp32 base model).
  disable_prepacking: '1',
};

/** The CPU the optimized graph is tied to: model name and instruction-set flags. */
function cpuSignature(): string {
  let flags = '';
  try {
    flags = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  } catch {
    // Not Linux: the model name and architecture are what is known.
  }
  return `${arch()} ${cpus()[0]?.model ?? ''} ${flags}`;
}

/** The options that shape the saved graph; thread counts and logging do not. */
function graphOptions(options: ort.InferenceSession.SessionOptions): unknown {
  const { intraOpNumThreads: _i, interOpNumThreads: _o, logSeverityLevel: _l, logVerbosityLevel: _v, logId: _id, ...rest } = options;
  return rest;
}

async function fileHash(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The cache key of `file` converted with `options`: changes with any input that makes the ORT file differ. */
export async function ortCacheKey(file: string, options: ort.InferenceSession.SessionOptions): Promise<string> {
  const parts = [await fileHash(file), ort.env.versions.common, ort.env.versions.node ?? '', JSON.stringify(graphOptions(options)), cpuSignature()];
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);
}

/**
 * The ORT-format file of `file` in `cacheDir`, written if missing. Concurrent workers may both convert;
 * the file is published with link(2), which never replaces, so every worker maps the same inode.
 */
export async function ensureOrtFile(file: string, options: ort.InferenceSession.SessionOptions, cacheDir: string): Promise<string> {
  const target = path.join(cacheDir, `${await ortCacheKey(file, options)}.ort`);
  if (existsSync(target)) return target;
  await mkdir(cacheDir, { recursive: true });
  // Unique per call: two conversions of one model may run in one thread (pid and thread id would collide).
  const tmp = `${target}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  try {
    await execFileAsync(process.execPath, [CONVERTER, file, tmp, JSON.stringify(options)], { maxBuffer: 1 << 20 }).catch((err: Error & { stderr?: string }) => {
      throw new Error(`converting to the ORT format failed: ${err.stderr?.trim() || err.message}`);
    });
    await link(tmp, target).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  } finally {
    await rm(tmp, { force: true });
  }
  return target;
}

/** `options` with the sharing entries added to its session config. */
export function sharedOptions(options: ort.InferenceSession.SessionOptions): ort.InferenceSession.SessionOptions {
  const extra = options.extra as { session?: Record<string, unknown> } | undefined;
  return { ...options, extra: { ...extra, session: { ...extra?.session, ...SHARED_WEIGHTS_ENTRIES } } };
}

/**
 * A session of the ONNX model `file`: with `cacheDir`, from its shared ORT file (converted on first use);
 * without, or when the conversion fails (e.g. an operator the ORT format cannot hold), from `file` itself.
 */
export async function openModelSession(
  file: string,
  options: ort.InferenceSession.SessionOptions,
  cacheDir: string | null,
): Promise<ort.InferenceSession> {
  if (cacheDir === null) return ort.InferenceSession.create(file, options);
  let ortFile: string;
  try {
    ortFile = await ensureOrtFile(file, options, cacheDir);
  } catch (err) {
    console.warn(`Sharing the weights of ${path.basename(file)} failed, loading a private copy:`, err instanceof Error ? err.message : err);
    return ort.InferenceSession.create(file, options);
  }
  return ort.InferenceSession.create(ortFile, sharedOptions(options));
}
