/**
 * Exit statuses of `ortserve evaluate` and `ortserve predict` (docs/evaluate.md): 0 everything answered,
 * 1 a server, network or file error or some rows failed, 2 a usage error, and this one.
 */

/** A model could not answer at all (unknown, refused key, no labels in its answer); the others' results were written. */
export const EXIT_MODEL_FAILED = 3;
