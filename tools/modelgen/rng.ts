/**
 * Deterministic weights: a seeded 32-bit PRNG (mulberry32) and a fast approximately normal sampler.
 * Weights must be reproducible from a seed so that tests and benchmarks can regenerate identical models.
 */

/** mulberry32: tiny, fast, good enough statistical quality for random weights. Returns [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle of `items` in place, drawing from `rand` (e.g. a mulberry32 stream). */
export function shuffleInPlace<T>(items: T[], rand: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Derives an independent seed for a named tensor, so adding a tensor does not shift every other one. */
export function deriveSeed(seed: number, name: string): number {
  // FNV-1a over the name, mixed with the seed.
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * Fills a Float32Array with N(0, std²) values (Box–Muller, two values per pair of uniforms).
 * Deliberately not truncated: clipping at ±2 std would give every large tensor the same max |w|, so
 * every int8 weight scale would be equal, ONNX Runtime would merge them and the Q/K/V scale products,
 * and the MatMulIntegerToFloat fusion a real quantized model gets would no longer apply.
 */
export function normalArray(length: number, std: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i += 2) {
    const u1 = rand() || 1e-12;
    const u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1)) * std;
    const theta = 2 * Math.PI * u2;
    out[i] = r * Math.cos(theta);
    if (i + 1 < length) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}

/** A constant-filled Float32Array (LayerNorm gammas are 1, biases 0 …). */
export function filledArray(length: number, value: number): Float32Array {
  return new Float32Array(length).fill(value);
}
