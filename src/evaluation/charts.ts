/**
 * The report's images, as Vega specifications rendered to SVG by Vega itself (no browser and no
 * canvas: Vega's headless renderer writes SVG strings in Node). Vega-Lite would make the specs
 * shorter, but its current releases require Node 22 and ortserve supports Node 20.
 */
import { parse, View, type Config, type Spec } from 'vega';

/** The four headline metrics of the comparison chart, in their order on the x axis. */
export const COMPARED_METRICS = ['accuracy', 'balanced accuracy', 'MCC', 'macro-F1'] as const;
export type ComparedMetric = (typeof COMPARED_METRICS)[number];

export interface ComparedModel {
  model: string;
  values: Record<ComparedMetric, number>;
}

const FONT = 'Helvetica, Arial, sans-serif';
const FONT_CONFIG: Config = {
  text: { font: FONT },
  title: { font: FONT, subtitleFont: FONT },
  axis: { labelFont: FONT, titleFont: FONT },
  legend: { labelFont: FONT, titleFont: FONT },
};

/**
 * Counts in the cells, actual classes down the left, predicted classes along the bottom, and each cell
 * shaded by its share of its row (the actual class), so that a small class's errors show as clearly as
 * a large one's.
 */
export function confusionMatrixSpec(title: string, labels: readonly string[], matrix: readonly (readonly number[])[]): Spec {
  const cells: Array<{ actual: string; predicted: string; count: number; share: number }> = [];
  labels.forEach((actual, i) => {
    const row = matrix[i] ?? [];
    const rowTotal = row.reduce((a, b) => a + b, 0);
    labels.forEach((predicted, j) => {
      const count = row[j] ?? 0;
      cells.push({ actual, predicted, count, share: rowTotal === 0 ? 0 : count / rowTotal });
    });
  });
  const n = labels.length;
  const cell = n <= 8 ? 44 : n <= 16 ? 32 : 22;
  return {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    width: n * cell,
    height: n * cell,
    padding: 10,
    background: 'white',
    config: FONT_CONFIG,
    title: { text: title, subtitle: 'counts; shading: share of the actual class (row)', anchor: 'start', offset: 12 },
    data: [{ name: 'cells', values: cells }],
    scales: [
      { name: 'x', type: 'band', domain: [...labels], range: 'width' },
      { name: 'y', type: 'band', domain: [...labels], range: 'height' },
      // ColorBrewer's Blues from its lightest end, so that an empty cell is near white (Vega's own
      // "blues" scheme starts at a visible blue).
      { name: 'color', type: 'linear', domain: [0, 1], range: ['#f7fbff', '#08306b'], interpolate: 'hcl' },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', title: 'Predicted', labelAngle: -40, labelAlign: 'right', labelLimit: 180 },
      { orient: 'left', scale: 'y', title: 'Actual', labelLimit: 180 },
    ],
    legends: [{ fill: 'color', title: 'row share', format: '.0%', gradientLength: Math.max(80, n * cell) }],
    marks: [
      {
        type: 'rect',
        from: { data: 'cells' },
        encode: {
          enter: {
            x: { scale: 'x', field: 'predicted' },
            width: { scale: 'x', band: 1 },
            y: { scale: 'y', field: 'actual' },
            height: { scale: 'y', band: 1 },
            fill: { scale: 'color', field: 'share' },
            stroke: { signal: "datum.actual === datum.predicted ? '#444' : '#ffffff'" },
            strokeWidth: { value: 1 },
          },
        },
      },
      {
        type: 'text',
        from: { data: 'cells' },
        encode: {
          enter: {
            x: { scale: 'x', field: 'predicted', band: 0.5 },
            y: { scale: 'y', field: 'actual', band: 0.5 },
            align: { value: 'center' },
            baseline: { value: 'middle' },
            text: { signal: 'datum.count' },
            fontSize: { value: cell >= 32 ? 12 : 9 },
            fill: { signal: "datum.count === 0 ? '#aaaaaa' : datum.share > 0.5 ? 'white' : '#222222'" },
          },
        },
      },
    ],
  };
}

/** One group of bars per metric, one bar per model, with its value on top. */
export function comparisonChartSpec(models: readonly ComparedModel[]): Spec {
  const names = models.map((m) => m.model);
  const values = models.flatMap((m) => COMPARED_METRICS.map((metric) => ({ model: m.model, metric, value: m.values[metric] })));
  // MCC can be negative; the axis then goes below 0.
  const low = Math.min(0, ...values.map((v) => v.value));
  return {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    width: Math.max(360, COMPARED_METRICS.length * (names.length * 26 + 40)),
    height: 240,
    padding: 10,
    background: 'white',
    config: FONT_CONFIG,
    title: { text: 'Models compared', anchor: 'start', offset: 12 },
    data: [{ name: 'values', values }],
    scales: [
      { name: 'x', type: 'band', domain: [...COMPARED_METRICS], range: 'width', padding: 0.2 },
      { name: 'y', type: 'linear', domain: [low, 1], range: 'height', nice: true },
      { name: 'color', type: 'ordinal', domain: names, range: { scheme: 'tableau10' } },
    ],
    axes: [
      { orient: 'bottom', scale: 'x' },
      { orient: 'left', scale: 'y', grid: true, format: '.1f' },
    ],
    legends: [{ fill: 'color', title: 'model' }],
    marks: [
      {
        type: 'group',
        from: { facet: { data: 'values', name: 'facet', groupby: 'metric' } },
        encode: { enter: { x: { scale: 'x', field: 'metric' } } },
        signals: [{ name: 'width', update: "bandwidth('x')" }],
        scales: [{ name: 'pos', type: 'band', range: 'width', domain: names, padding: 0.08 }],
        marks: [
          {
            type: 'rect',
            from: { data: 'facet' },
            encode: {
              enter: {
                x: { scale: 'pos', field: 'model' },
                width: { scale: 'pos', band: 1 },
                y: { scale: 'y', field: 'value' },
                y2: { scale: 'y', value: 0 },
                fill: { scale: 'color', field: 'model' },
              },
            },
          },
          {
            type: 'text',
            from: { data: 'facet' },
            encode: {
              enter: {
                x: { scale: 'pos', field: 'model', band: 0.5 },
                y: { scale: 'y', signal: 'max(datum.value, 0)', offset: -3 },
                align: { value: 'center' },
                baseline: { value: 'bottom' },
                text: { signal: "format(datum.value, '.2f')" },
                fontSize: { value: 9 },
                fill: { value: '#333333' },
              },
            },
          },
        ],
      },
    ],
  };
}

/** Renders a spec headlessly to an SVG document. */
export async function renderSvg(spec: Spec): Promise<string> {
  const view = new View(parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
