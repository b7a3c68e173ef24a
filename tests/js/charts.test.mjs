// The small charts' axes: tick numbers that fit their margin, and the sweep's x axis, which goes
// logarithmic when the values span decades (learning rates, λ).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tickText } from '../../frontend/static/js/canvas.js';
import { sweepAxis } from '../../frontend/static/js/sweepchart.js';

const close = (a, b) => Math.abs(a - b) < 1e-9;
const gaps = (xs) => xs.slice(1).map((x, i) => x - xs[i]);

test('tick numbers stay short: an exponent far from 1, never a long run of zeros', () => {
  assert.deepEqual(
    [0, 0.69, 1.8, 0.0031, 0.001, 1200, 0.000064, 1e-6, 25000, 0.1 + 0.2].map(tickText),
    ['0', '0.69', '1.8', '0.0031', '0.001', '1200', '6.4e-5', '1e-6', '2.5e4', '0.3'],
  );
  for (let e = -12; e <= 12; e++) assert.ok(tickText(1.23456 * 10 ** e).length <= 7, `10^${e}`);
});

test('learning rates over decades sit on a log axis with a tick at every power of ten', () => {
  const axis = sweepAxis(['0.001', '0.01', '0.1', '1']);
  assert.equal(axis.log, true);
  const [g0, ...rest] = gaps(axis.at);
  assert.ok(g0 > 0 && rest.every((g) => close(g, g0)), axis.at);
  const major = axis.ticks.filter((tk) => tk.text);
  assert.deepEqual(major.map((tk) => tk.text), ['0.001', '0.01', '0.1', '1']);
  major.forEach((tk, k) => assert.ok(close(tk.at, axis.at[k])));
  assert.ok(axis.at[0] > 0 && axis.at[3] < 1);

  const uneven = sweepAxis(['0.001', '0.1', '1']);  // two decades, then one
  const [a, b] = gaps(uneven.at);
  assert.ok(close(a, 2 * b), uneven.at);
});

test('a zero sits left of the decades, apart from them', () => {
  const axis = sweepAxis(['0', '0.001', '0.01', '0.1', '0.3']);
  assert.equal(axis.log, true);
  assert.deepEqual(axis.ticks.filter((tk) => tk.text).map((tk) => tk.text), ['0', '0.001', '0.01', '0.1']);
  const [zeroGap, d1, d2] = gaps(axis.at);
  assert.ok(close(d1, d2) && zeroGap > 0, axis.at);
  assert.ok(axis.at.every((x, k) => k === 0 || x > axis.at[k - 1]));
});

test('values within a decade, negative or not numbers keep one even slot each', () => {
  for (const labels of [['10', '20', '50'], ['0.0003', '0.001', '0.003'], ['-1', '1', '100'], ['2', 'x', '30']]) {
    const axis = sweepAxis(labels);
    assert.equal(axis.log, false, labels.join());
    assert.deepEqual(axis.at, labels.map((_, k) => (k + 0.5) / labels.length));
    assert.deepEqual(axis.ticks.map((tk) => tk.text), labels);
  }
});
