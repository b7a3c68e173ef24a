// One diverging scale for everything that has a sign: labels, outputs, neuron values, weights.
// Orange (−1) ↔ light grey (0) ↔ blue (+1): orange/blue stays distinct for the common forms of
// colour blindness, and it is the scale TF Playground users already read.

const NEG = [245, 147, 34];   // #f59322
const MID = [232, 234, 235];  // #e8eaeb
const POS = [8, 119, 189];    // #0877bd

// Classes beyond two: classes 0 and 1 orange and blue, then Okabe–Ito's bluish green and
// reddish purple, then maroon and navy, which stay apart from every other class (also faded on
// the map, and for each common colour-vision deficiency: tests/js/palette.test.mjs) where
// Okabe–Ito's vermillion and sky blue were near the orange and the blue.
export const CLASS_COLORS = [
  [245, 147, 34], [8, 119, 189], [0, 158, 115], [204, 121, 167], [128, 0, 0], [0, 0, 117],
];

function makeLut(strength) {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = Math.max(-1, Math.min(1, (i - 128) / 127));
    const [a, b] = t < 0 ? [MID, NEG] : [MID, POS];
    const u = Math.abs(t) * strength;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = a[c] + (b[c] - a[c]) * u;
  }
  return lut;
}

/** 256-entry RGB lookup indexed by an int8 value + 128 (−128..127 → −1..1). */
export const LUT = makeLut(1);
// The big map is a background for the points: the same hues, lighter, so that an orange
// point on an orange region still reads (TF Playground draws its map at 63 % opacity).
const LUT_SOFT = makeLut(0.62);

/** CSS colour of a value in [−1, 1]. */
export function cssColor(v) {
  const i = 128 + Math.round(Math.max(-1, Math.min(1, v)) * 127);
  return `rgb(${LUT[i * 3]},${LUT[i * 3 + 1]},${LUT[i * 3 + 2]})`;
}

export function classColor(k) {
  const c = CLASS_COLORS[k % CLASS_COLORS.length];
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** Colour of one data point: class index (numClasses ≥ 2) or regression target. */
export function labelColor(label, numClasses) {
  if (numClasses > 2) return classColor(label);
  if (numClasses === 2) return label >= 0.5 ? cssColor(1) : cssColor(-1);
  return cssColor(label);
}

/**
 * Paint an int8 map [rows, cols] into an ImageData, optionally thresholded at 0.
 * `out` is reused between frames so drawing allocates nothing.
 */
export function paintSigned(values, out, discretize = false, soft = false) {
  const px = out.data;
  const lut = soft ? LUT_SOFT : LUT;
  for (let i = 0, n = values.length; i < n; i++) {
    let v = values[i];
    if (discretize) v = v >= 0 ? 127 : -127;
    const j = (v + 128) * 3;
    px[i * 4] = lut[j];
    px[i * 4 + 1] = lut[j + 1];
    px[i * 4 + 2] = lut[j + 2];
    px[i * 4 + 3] = 255;
  }
}

/** Multi-class map: hue of the predicted class, faded toward grey by low confidence. */
export function paintClasses(classes, confidence, numClasses, out, discretize = false, soft = false) {
  const top = soft ? 0.62 : 1;
  const px = out.data;
  const floor = 1 / Math.max(2, numClasses);
  for (let i = 0, n = classes.length; i < n; i++) {
    const c = CLASS_COLORS[classes[i] % CLASS_COLORS.length];
    let a = discretize ? 1 : (confidence[i] / 255 - floor) / (1 - floor);
    a = top * (0.15 + 0.85 * Math.max(0, Math.min(1, a)));
    px[i * 4] = MID[0] + (c[0] - MID[0]) * a;
    px[i * 4 + 1] = MID[1] + (c[1] - MID[1]) * a;
    px[i * 4 + 2] = MID[2] + (c[2] - MID[2]) * a;
    px[i * 4 + 3] = 255;
  }
}
