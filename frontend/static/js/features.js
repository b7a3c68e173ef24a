// The input features (x₁, x₂, x₁², …) as the page draws them in the network diagram before the
// server has sent their maps: the same functions as playground_models/features.py, on the same
// grid of cell centres as playground_models/grid.py (tests/test_javascript.py checks both).

export const DOMAIN = [-6, 6];

/** Feature name → f(x₁, x₂), in the order of the parameter table. */
export const FEATURE_FUNCTIONS = {
  x: (a) => a,
  y: (a, b) => b,
  xSquared: (a) => a * a,
  ySquared: (a, b) => b * b,
  xTimesY: (a, b) => a * b,
  sinX: (a) => Math.sin(a),
  sinY: (a, b) => Math.sin(b),
};

/** Cell-centre coordinates of an M×M grid: x₁ per column (ascending), x₂ per row (descending). */
export function gridAxes(m, [lo, hi] = DOMAIN) {
  const xs = Array.from({ length: m }, (_, i) => lo + ((i + 0.5) * (hi - lo)) / m);
  return [xs, [...xs].reverse()];
}

/** 127·clamp(f, −1, 1) of an input feature on an M×M grid, row-major, top row first; an
 * unknown name draws as zeros. */
export function featureMap(name, m) {
  const f = FEATURE_FUNCTIONS[name] || (() => 0);
  const [xs, ys] = gridAxes(m);
  const out = new Int8Array(m * m);
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < m; c++) {
      out[r * m + c] = Math.round(127 * Math.max(-1, Math.min(1, f(xs[c], ys[r]))));
    }
  }
  return out;
}
