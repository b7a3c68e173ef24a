// Sizing for the small charts drawn straight onto a canvas (compare cards, overlay, sweep): the
// backing store follows the canvas's CSS box and the device pixel ratio, so lines stay sharp
// and a chart measured before the layout settled is corrected on its next draw.

export const FONT = '10px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

/** Fit `canvas` to its CSS box, clear it, and return [ctx, width, height] in CSS pixels. */
export function fitCanvas(canvas, fallbackW = 200, fallbackH = 50) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || fallbackW;
  const h = canvas.clientHeight || fallbackH;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = FONT;
  return [ctx, w, h];
}

/** A tick's number in a few characters: `0.69`, `0.0031`, `1200`, and far from 1 with an
 * exponent (`6.4e-5`, `2.5e4`), so that it fits the margin beside the plot. */
export function tickText(v) {
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e4) return String(Number(v.toPrecision(2)));
  return v.toExponential(1).replace('.0e', 'e').replace('e+', 'e');
}

/** The left margin that holds `texts` drawn right-aligned `gap` pixels before the plot, and
 * never less than `least`. */
export function marginFor(ctx, texts, least, gap = 4) {
  const wide = Math.max(0, ...texts.map((s) => ctx.measureText(s).width));
  return Math.max(least, Math.ceil(wide) + gap + 2);
}
