// Which weight or bias each link and bias square of the network diagram shows, where it lies,
// and which one the pointer is on. A link is the cubic Bézier network.js draws from the right
// edge of a node to the left edge of the next; it is kept as a fine polyline, so hit-testing
// measures the distance to the curve itself, not to a straight line or a box.

const SEGMENTS = 24;   // polyline pieces per link: under a pixel from the curve at any size

/** The point at `t` (0..1) of the link from node centre `s` to node centre `d`. */
export function linkPoint(s, d, t) {
  const mx = (s.right + d.left) / 2;
  const u = 1 - t;
  const a = u * u * u;
  const b = 3 * u * u * t;
  const c = 3 * u * t * t;
  const e = t * t * t;
  return { x: a * s.right + (b + c) * mx + e * d.left, y: (a + b) * s.y + (c + e) * d.y };
}

/** The bias square drawn at the lower left of the node centred at `d`. */
export function biasRect(d, nodeSize) {
  const size = Math.max(5, Math.round(nodeSize / 6));
  return { x: d.left - size - 2, y: d.y + nodeSize / 2 - size, w: size, h: size };
}

/**
 * Every link and bias square of the diagram: `{links, biases}`. A link is `{layer, to, from,
 * s, d, w, w0, pts}`, a bias `{layer, to, d, rect, b, b0}`: `w` / `b` index the frame's flat
 * `weights` / `biases`; `w0` / `b0` are set where a two-class softmax is drawn as one output
 * node, whose link shows w(class 1) − w(class 0) (and its square b(class 1) − b(class 0)).
 * `columns[c][r]` are node centres; `inputRows` the rows of the enabled features.
 */
export function paramLayout(columns, layers, inputRows, numClasses, nodeSize) {
  const links = [];
  const biases = [];
  let wOff = 0;
  let bOff = 0;
  for (let l = 0; l + 1 < (layers?.length ?? 0); l++) {
    const nin = layers[l];
    const nout = layers[l + 1];
    const src = l === 0 ? inputRows.map((r) => columns[0]?.[r]) : columns[l] || [];
    const dst = columns[l + 1] || [];
    const merged = l === layers.length - 2 && numClasses === 2 && nout === 2;
    for (let o = 0; o < (merged ? 1 : nout); o++) {
      const d = dst[o];
      if (!d) continue;
      const to = merged ? 1 : o;
      for (let i = 0; i < nin; i++) {
        const s = src[i];
        if (!s) continue;
        links.push({
          layer: l, to, from: i, s, d, w: wOff + to * nin + i, w0: merged ? wOff + i : null,
          pts: polyline(s, d),
        });
      }
      biases.push({ layer: l, to, d, rect: biasRect(d, nodeSize), b: bOff + to, b0: merged ? bOff : null });
    }
    wOff += nin * nout;
    bOff += nout;
  }
  return { links, biases };
}

function polyline(s, d) {
  const pts = new Float32Array(2 * (SEGMENTS + 1));
  for (let k = 0; k <= SEGMENTS; k++) {
    const p = linkPoint(s, d, k / SEGMENTS);
    pts[2 * k] = p.x;
    pts[2 * k + 1] = p.y;
  }
  return pts;
}

/** The value a link or bias square shows, from a frame's flat arrays (undefined without them). */
export function shownValue(item, weights, biases) {
  const [arr, i, i0] = 'w' in item ? [weights, item.w, item.w0] : [biases, item.b, item.b0];
  if (!arr) return undefined;
  return i0 === null ? arr[i] : arr[i] - arr[i0];
}

/**
 * The message that makes `item` show `value`: [type, fields] of `set_weight` / `set_bias`. For a
 * merged two-class output only class 1's parameter moves, by the difference it must show.
 */
export function editMessage(item, value, weights, biases) {
  const isWeight = 'w' in item;
  const [arr, i0] = isWeight ? [weights, item.w0] : [biases, item.b0];
  const v = i0 === null ? value : value + arr[i0];
  return isWeight
    ? ['set_weight', { layer: item.layer, to: item.to, from: item.from, value: v }]
    : ['set_bias', { layer: item.layer, to: item.to, value: v }];
}

/** The bias square under (x, y), else the link nearest to it within `tolerance` px, else null. */
export function paramAt(layout, x, y, tolerance) {
  for (const b of layout.biases) {
    const r = b.rect;
    if (x >= r.x - 1 && x <= r.x + r.w + 1 && y >= r.y - 1 && y <= r.y + r.h + 1) return b;
  }
  let best = null;
  let bestD2 = tolerance * tolerance;
  for (const link of layout.links) {
    const { s, d } = link;
    if (x < s.right || x > d.left) continue;
    if (y < Math.min(s.y, d.y) - tolerance || y > Math.max(s.y, d.y) + tolerance) continue;
    const d2 = distance2(link.pts, x, y);
    if (d2 <= bestD2) { best = link; bestD2 = d2; }
  }
  return best;
}

// Squared distance from (x, y) to the polyline.
function distance2(pts, x, y) {
  let best = Infinity;
  for (let k = 0; k + 3 < pts.length; k += 2) {
    const ax = pts[k];
    const ay = pts[k + 1];
    const dx = pts[k + 2] - ax;
    const dy = pts[k + 3] - ay;
    const len2 = dx * dx + dy * dy;
    const t = len2 > 0 ? Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / len2)) : 0;
    const ex = ax + t * dx - x;
    const ey = ay + t * dy - y;
    best = Math.min(best, ex * ex + ey * ey);
  }
  return best;
}
