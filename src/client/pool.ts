/**
 * Bounded concurrency: `concurrency` loops take the next item until none is left. Written here (a
 * dozen lines) rather than taken from p-map/p-limit because the CLIs also need to stop taking items
 * after the first failure while letting the requests already sent finish.
 */

/** Maps `items` through `fn` with at most `concurrency` calls in flight; results keep the input order. */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, not ${concurrency}`);
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const loop = async (): Promise<void> => {
    while (failure === null && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, loop));
  if (failure !== null) throw (failure as { error: unknown }).error;
  return results;
}
