/**
 * `context.observations`: what a handler tells the server about a batch beyond TorchServe's metrics, for
 * ortserve's histograms and drift signals (docs/metrics.md): the time of each handler phase, the tokens
 * of its inputs and the labels it predicted. BaseHandler records the phases; `TextModel` (ortserve/text)
 * records tokens and labels. Everything is optional: a handler that reports nothing still gets
 * `ortserve_handler_seconds` from the worker.
 */

export type HandlerPhase = 'preprocess' | 'inference' | 'postprocess';

/** What the worker sends with a batch's answer. Plain data (structured-cloned). */
export interface BatchReport {
  /** Milliseconds the handler's `handle` took for the batch (worker-measured). */
  handlerMs: number;
  /** Milliseconds per phase, for the phases the handler reported. */
  phasesMs: Partial<Record<HandlerPhase, number>>;
  /** Token count of every input sequence (after truncation, special tokens included). */
  inputTokens: number[];
  /** Tokens of those sequences that the tokenizer mapped to its unknown token. */
  unknownTokens: number;
  /** Tokens the model ran on, padding included (sum over the batch's session runs), or 0 when unknown. */
  paddedTokens: number;
  /** `[output, label]` per prediction: `output` names the model head (`label` for a single classifier). */
  labels: Array<[string, string]>;
}

export class BatchObservations {
  private report: BatchReport = emptyReport();

  /** Called by the worker before each batch; handlers do not call it. */
  reset(): void {
    this.report = emptyReport();
  }

  /** The report of the batch (the worker adds `handlerMs`). */
  take(handlerMs: number): BatchReport {
    const out = { ...this.report, handlerMs };
    this.report = emptyReport();
    return out;
  }

  /** Adds `ms` to a phase of this batch (a handler may run a phase more than once). */
  phase(name: HandlerPhase, ms: number): void {
    this.report.phasesMs[name] = (this.report.phasesMs[name] ?? 0) + ms;
  }

  /** One session run: the token counts of its sequences, their unknown tokens, and the padded size it ran at. */
  inputs(sequenceTokens: readonly number[], unknownTokens: number, paddedTokens: number): void {
    this.report.inputTokens.push(...sequenceTokens);
    this.report.unknownTokens += unknownTokens;
    this.report.paddedTokens += paddedTokens;
  }

  /** A predicted label, for the label distribution (drift) of the model version. */
  label(label: string, output = 'label'): void {
    this.report.labels.push([output, label]);
  }
}

function emptyReport(): BatchReport {
  return { handlerMs: 0, phasesMs: {}, inputTokens: [], unknownTokens: 0, paddedTokens: 0, labels: [] };
}
