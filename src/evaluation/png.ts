/**
 * The report's SVG charts as PNG too (for slides, chat and MLflow's artifact viewer, which shows PNG
 * inline), rasterized by resvg (@resvg/resvg-js): the same drawing, so the two cannot disagree. Text is
 * drawn with the system's fonts; where the machine has none, the cells and colours are still drawn
 * but the labels are missing (docs/evaluate.md).
 */
import { Resvg } from '@resvg/resvg-js';

/** Twice the SVG's size, so that labels stay legible when the image is scaled down. */
const SCALE = 2;

export function svgToPng(svg: string): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: SCALE },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}
