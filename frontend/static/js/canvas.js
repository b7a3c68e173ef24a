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
