/**
 * Shared pieces of the property and fuzz tests (fast-check): fixed seeds so that CI runs are
 * reproducible, the "returns or throws the module's typed error" check, and a guard against hangs.
 * A failing property prints fast-check's counterexample with its seed and path, which replays it.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';

/** One seed for the whole suite; each property mixes in its own offset. Override with FUZZ_SEED to explore. */
export const BASE_SEED = Number(process.env['FUZZ_SEED'] ?? 20260601);

/** fast-check parameters for one property: a fixed seed and a run count (scaled by FUZZ_RUNS_SCALE). */
export function params<T>(offset: number, numRuns: number): fc.Parameters<T> {
  const scale = Number(process.env['FUZZ_RUNS_SCALE'] ?? 1);
  return { seed: BASE_SEED + offset, numRuns: Math.max(1, Math.round(numRuns * scale)), includeErrorInReport: true };
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** Asserts that `err` is one of the allowed typed errors (and so not a TypeError, RangeError …). */
export function assertTyped(err: unknown, allowed: readonly ErrorClass[], what: string): void {
  if (allowed.some((c) => err instanceof c)) return;
  const shown = err instanceof Error ? `${err.constructor.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
  assert.fail(`${what}: expected ${allowed.map((c) => c.name).join(' or ')}, got ${shown}`);
}

/** Runs `fn`; its value, or undefined when it threw one of the allowed errors. Anything else fails. */
export function returnsOrThrows<T>(fn: () => T, allowed: readonly ErrorClass[], what: string): T | undefined {
  try {
    return fn();
  } catch (err) {
    assertTyped(err, allowed, what);
    return undefined;
  }
}

/** The async form of returnsOrThrows, with a deadline: a promise still pending after `ms` is a hang. */
export async function settlesOrThrows<T>(
  fn: () => Promise<T>,
  allowed: readonly ErrorClass[],
  what: string,
  ms = 5000,
): Promise<{ ok: true; value: T } | { ok: false; error: Error }> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new HangError(`${what}: did not settle within ${ms} ms`)), ms);
  });
  try {
    return { ok: true, value: await Promise.race([fn(), hang]) };
  } catch (err) {
    if (err instanceof HangError) throw err;
    assertTyped(err, allowed, what);
    return { ok: false, error: err as Error };
  } finally {
    clearTimeout(timer);
  }
}

class HangError extends Error {}

/** Strings biased towards the characters a grammar cares about, mixed with arbitrary UTF-16. */
export function stringOver(specials: readonly string[], maxLength = 60): fc.Arbitrary<string> {
  const unit = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...specials) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  );
  return fc.array(unit, { maxLength }).map((parts) => parts.join(''));
}

/**
 * Unhandled rejections and uncaught exceptions seen while a property runs. node:test would report
 * them after the fact, against whichever test happened to be running; this pins them to the property.
 */
export function trapUnhandled(): { check(what: string): void; dispose(): void } {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    seen.push(reason);
  };
  process.on('unhandledRejection', onRejection);
  // An 'error' event nobody listens to (a stream's, say) is an uncaught exception: in the server it
  // would end the process.
  process.on('uncaughtException', onRejection);
  return {
    check(what) {
      if (seen.length > 0) {
        const first = seen[0];
        assert.fail(`${what}: ${seen.length} unhandled rejection(s) or uncaught exception(s), first: ${first instanceof Error ? first.stack : String(first)}`);
      }
    },
    dispose() {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onRejection);
    },
  };
}
