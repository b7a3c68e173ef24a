// Run and class colours that stay apart for people with common colour-vision deficiencies:
// every pair is compared by CIEDE2000 as seen with full colour vision and as simulated for
// protanopia, deuteranopia and tritanopia (Machado, Oliveira & Fernandes 2009, severity 1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RUN_COLORS } from '../../frontend/static/js/runcard.js';
import { CLASS_COLORS, cssColor } from '../../frontend/static/js/colors.js';

const SIMULATIONS = {
  normal: [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
  protan: [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
  deutan: [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.01182, 0.04294, 0.968881]],
  tritan: [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.3039]],
};

const linear = (c) => { const s = c / 255; return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; };
const rgbOf = (css) => (css.startsWith('#')
  ? [1, 3, 5].map((i) => parseInt(css.slice(i, i + 2), 16))
  : css.match(/\d+/g).map(Number));

/** CIE L*a*b* (D65) of an sRGB colour as someone with `vision` sees it. */
function lab(rgb, vision) {
  const l = rgb.map(linear);
  const [r, g, b] = SIMULATIONS[vision].map((row) => Math.min(1, Math.max(0, row[0] * l[0] + row[1] * l[1] + row[2] * l[2])));
  const X = 0.4124 * r + 0.3576 * g + 0.1805 * b;
  const Y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  const Z = 0.0193 * r + 0.1192 * g + 0.9505 * b;
  const f = (t) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  const [fx, fy, fz] = [f(X / 0.95047), f(Y), f(Z / 1.08883)];
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

const rad = (d) => (d * Math.PI) / 180;
/** CIEDE2000 colour difference (Sharma, Wu & Dalal 2005). */
function deltaE2000([L1, a1, b1], [L2, a2, b2]) {
  const Cbar = (Math.hypot(a1, b1) + Math.hypot(a2, b2)) / 2;
  const G = 0.5 * (1 - Math.sqrt(Cbar ** 7 / (Cbar ** 7 + 25 ** 7)));
  const [a1p, a2p] = [(1 + G) * a1, (1 + G) * a2];
  const [C1, C2] = [Math.hypot(a1p, b1), Math.hypot(a2p, b2)];
  const hue = (b, a) => ((Math.atan2(b, a) * 180) / Math.PI + 360) % 360;
  const [h1, h2] = [hue(b1, a1p), hue(b2, a2p)];
  let dh = h2 - h1;
  if (C1 * C2 === 0) dh = 0; else if (dh > 180) dh -= 360; else if (dh < -180) dh += 360;
  const dL = L2 - L1, dC = C2 - C1, dH = 2 * Math.sqrt(C1 * C2) * Math.sin(rad(dh / 2));
  const Lbar = (L1 + L2) / 2, Cpbar = (C1 + C2) / 2;
  let hbar = h1 + h2;
  if (C1 * C2 !== 0) hbar = Math.abs(h1 - h2) <= 180 ? hbar / 2 : (hbar + (hbar < 360 ? 360 : -360)) / 2;
  const T = 1 - 0.17 * Math.cos(rad(hbar - 30)) + 0.24 * Math.cos(rad(2 * hbar))
    + 0.32 * Math.cos(rad(3 * hbar + 6)) - 0.2 * Math.cos(rad(4 * hbar - 63));
  const SL = 1 + (0.015 * (Lbar - 50) ** 2) / Math.sqrt(20 + (Lbar - 50) ** 2);
  const SC = 1 + 0.045 * Cpbar, SH = 1 + 0.015 * Cpbar * T;
  const RT = -Math.sin(rad(60 * Math.exp(-(((hbar - 275) / 25) ** 2)))) * 2 * Math.sqrt(Cpbar ** 7 / (Cpbar ** 7 + 25 ** 7));
  return Math.sqrt((dL / SL) ** 2 + (dC / SC) ** 2 + (dH / SH) ** 2 + RT * (dC / SC) * (dH / SH));
}

const apart = (c1, c2) => Object.fromEntries(Object.keys(SIMULATIONS).map((v) => [v, deltaE2000(lab(rgbOf(c1), v), lab(rgbOf(c2), v))]));

test('the colour difference matches Sharma, Wu and Dalal’s published pairs', () => {
  const pairs = [
    [[50, 2.6772, -79.7751], [50, 0, -82.7485], 2.0425],
    [[50, 0, 0], [50, -1, 2], 2.3669],
    [[50, 2.5, 0], [73, 25, -18], 27.1492],
    [[60.2574, -34.0099, 36.2677], [60.4626, -34.1751, 39.4387], 1.2644],
  ];
  for (const [p, q, want] of pairs) assert.ok(Math.abs(deltaE2000(p, q) - want) < 1e-4, `${p} ${q}`);
});

test('runs 4 to 6 stand apart from every other run, also for red-green colour blindness', () => {
  for (const k of [3, 4, 5]) {
    for (let j = 0; j < RUN_COLORS.length; j++) {
      if (j === k) continue;
      const d = apart(RUN_COLORS[k], RUN_COLORS[j]);
      assert.ok(d.normal >= 25, `runs ${k + 1} and ${j + 1}: ΔE ${d.normal.toFixed(1)}`);
      assert.ok(Math.min(d.protan, d.deutan) >= 12, `runs ${k + 1} and ${j + 1}: ${JSON.stringify(d)}`);
    }
    for (const meaning of [cssColor(-1), cssColor(1)]) {  // the two classes and a weight's sign
      assert.ok(apart(RUN_COLORS[k], meaning).normal >= 20, `run ${k + 1} and ${meaning}`);
    }
  }
});

test('classes 4 and 5 stand apart from every other class in every simulated vision', () => {
  const css = CLASS_COLORS.map(([r, g, b]) => `rgb(${r},${g},${b})`);
  for (const k of [4, 5]) {
    for (let j = 0; j < css.length; j++) {
      if (j === k) continue;
      const d = apart(css[k], css[j]);
      assert.ok(Math.min(...Object.values(d)) >= 20, `classes ${k} and ${j}: ${JSON.stringify(d)}`);
    }
  }
});
