// Drawing small images onto canvases: grey ink pictures, colour pictures, single colour channels
// and the orange↔blue diverging scale.

const NEG = [245, 147, 34];
const MID = [236, 238, 240];
const POS = [8, 119, 189];

/** Paint `h×w` values starting at `offset` into `canvas` (canvas size set to w×h). Modes:
 * "gray" (dark ink on white), "ink" (white on black), "diverging" (orange < 0 < blue),
 * "rgb" (three planes of h×w, red then green then blue) and "channel" (one plane as that
 * colour on black: `channel` 0, 1 or 2). */
export function paint(canvas, data, h, w, offset, { mode = "gray", lo = 0, hi = 1, channel = 0 } = {}) {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  const px = img.data;
  // Diverging maps are symmetric about zero so that white always means "nothing".
  const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
  const span = hi - lo || 1;
  for (let i = 0; i < h * w; i++) {
    const v = data[offset + i];
    let r;
    let g;
    let b;
    if (mode === "diverging") {
      const t = Math.max(-1, Math.min(1, v / m));
      const [c0, c1] = t < 0 ? [MID, NEG] : [MID, POS];
      const a = Math.abs(t);
      r = c0[0] + (c1[0] - c0[0]) * a;
      g = c0[1] + (c1[1] - c0[1]) * a;
      b = c0[2] + (c1[2] - c0[2]) * a;
    } else if (mode === "rgb" || mode === "channel") {
      const level = (k) => 255 * Math.max(0, Math.min(1, (data[offset + k * h * w + i] - lo) / span));
      if (mode === "rgb") [r, g, b] = [level(0), level(1), level(2)];
      else [r, g, b] = [0, 1, 2].map((k) => (k === channel ? 255 * Math.max(0, Math.min(1, (v - lo) / span)) : 0));
    } else if (mode === "ink") {
      // Digits: white ink on black, as they are drawn.
      r = g = b = 255 * Math.max(0, Math.min(1, (v - lo) / span));
    } else {
      r = g = b = 255 * (1 - Math.max(0, Math.min(1, (v - lo) / span)));
    }
    px[4 * i] = r;
    px[4 * i + 1] = g;
    px[4 * i + 2] = b;
    px[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** A new canvas shown at `cssSize` px with a picture of `h×w` values. */
export function tile(data, h, w, offset, opts, cssSize) {
  const c = document.createElement("canvas");
  paint(c, data, h, w, offset, opts);
  c.style.width = `${cssSize}px`;
  c.style.height = `${Math.round((cssSize * h) / w)}px`;
  return c;
}
