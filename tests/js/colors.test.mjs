// The one diverging colour scale, and the class colours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LUT, cssColor, classColor, labelColor, paintSigned, paintClasses } from '../../frontend/static/js/colors.js';

const rgb = (i) => [LUT[i * 3], LUT[i * 3 + 1], LUT[i * 3 + 2]];

test('the scale runs orange at −1, grey at 0, blue at +1', () => {
  assert.equal(cssColor(-1), 'rgb(245,147,34)');
  assert.equal(cssColor(0), 'rgb(232,234,235)');
  assert.equal(cssColor(1), 'rgb(8,119,189)');
  assert.equal(cssColor(-5), cssColor(-1)); // clamped
  assert.equal(cssColor(9), cssColor(1));
});

test('the lookup is indexed by int8 + 128 and halfway is halfway', () => {
  assert.deepEqual(rgb(128), [232, 234, 235]);
  assert.deepEqual(rgb(0), rgb(1)); // −128 reads as −127
  const half = rgb(128 + 64); // ~+0.504
  for (let c = 0; c < 3; c++) {
    const want = [232, 234, 235][c] + ([8, 119, 189][c] - [232, 234, 235][c]) * (64 / 127);
    assert.ok(Math.abs(half[c] - want) <= 1, `channel ${c}: ${half[c]} vs ${want}`);
  }
});

test('a point is coloured by class, by side of 0.5, or by its value', () => {
  assert.equal(labelColor(2, 3), classColor(2));
  assert.equal(labelColor(1, 2), cssColor(1));
  assert.equal(labelColor(0, 2), cssColor(-1));
  assert.equal(labelColor(0.25, 1), cssColor(0.25));
  assert.equal(classColor(0), 'rgb(245,147,34)');
  assert.equal(classColor(6), classColor(0)); // hues repeat past six classes
});

test('signed maps paint opaque pixels, thresholded at 0 when discretized', () => {
  const out = { data: new Uint8ClampedArray(3 * 4) };
  paintSigned(Int8Array.from([-127, 0, 127]), out);
  assert.deepEqual([...out.data], [245, 147, 34, 255, 232, 234, 235, 255, 8, 119, 189, 255]);
  paintSigned(Int8Array.from([-3, 0, 5]), out, true);
  assert.deepEqual([...out.data], [245, 147, 34, 255, 8, 119, 189, 255, 8, 119, 189, 255]);
  const soft = { data: new Uint8ClampedArray(4) };
  paintSigned(Int8Array.from([127]), soft, false, true);
  assert.ok(soft.data[0] > 8 && soft.data[0] < 232, 'the soft scale is lighter');
});

test('class maps fade toward grey with low confidence', () => {
  const out = { data: new Uint8ClampedArray(2 * 4) };
  paintClasses(Uint8Array.from([2, 2]), Uint8Array.from([255, 85]), 3, out);
  // Full confidence: the class hue; a third (chance for three classes): 15 % of the way.
  assert.deepEqual([...out.data.slice(0, 4)], [0, 158, 115, 255]);
  const faint = [...out.data.slice(4, 8)];
  assert.deepEqual(faint, [Math.round(232 - 232 * 0.15), Math.round(234 + (158 - 234) * 0.15), Math.round(235 + (115 - 235) * 0.15), 255]);
});
