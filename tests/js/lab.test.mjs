// The image lab's array helpers and readout numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labMessage, unpack, range } from '../../frontend/static/lab/arrays.js';
import { fmtEpochs, fmtLoss } from '../../frontend/static/lab/readout.js';

// A decoded envelope as decodeEnvelope gives it: the header, and typed arrays with their shape.
function envelope(header, arrays) {
  const out = {};
  for (const [name, data] of Object.entries(arrays)) {
    out[name] = data;
    out[name].shape = [data.length];
  }
  return { header: { ...header, arrays: Object.keys(arrays).map((name) => ({ name })) }, arrays: out };
}

test('a binary lab message has each array in its place and no envelope table', () => {
  const w = Float32Array.from([0.5, -1, 2, 3.25]);
  const u = Uint8Array.from([0, 255]);
  const m = labMessage(envelope(
    { type: 'frame', epoch: 2, filters: [{ layer: 0, weights: { $array: 'a0' } }, { layer: 3 }],
      seen: { $array: 'a1' }, note: { kept: true } },
    { a0: w, a1: u },
  ));
  assert.equal(m.arrays, undefined);
  assert.equal(m.filters[0].weights, w);
  assert.deepEqual(m.filters[1], { layer: 3 });
  assert.equal(m.seen, u);
  assert.deepEqual(m.note, { kept: true });
  const f = unpack(m.filters[0].weights);
  assert.ok(f.data instanceof Float32Array);
  assert.deepEqual([...f.data], [0.5, -1, 2, 3.25]);
  assert.deepEqual(f.shape, [4]);
});

test('the range is the smallest and largest value, over a slice when asked', () => {
  const data = Float32Array.from([3, -2, 8, 0.5, -9]);
  assert.deepEqual(range(data), [-9, 8]);
  assert.deepEqual(range(data, 1, 2), [-2, 8]);
  assert.deepEqual(range(new Float32Array(0)), [Infinity, -Infinity]);
});

test('a small loss keeps its digits, in exponent form below 0.001', () => {
  assert.equal(fmtLoss(2.30258), '2.303');
  assert.equal(fmtLoss(0.0123), '0.012');
  assert.equal(fmtLoss(0.0000421), '4.2e-5');
  assert.equal(fmtLoss(0), '0.000');
  assert.equal(fmtLoss(null), '—');
});

test('epochs show as a fraction of the training set, so a Step moves them', () => {
  assert.equal(fmtEpochs(0, 1258), '0');
  assert.equal(fmtEpochs(320, 1258), '0.25'); // one Step: 10 mini-batches of 32
  assert.equal(fmtEpochs(10, 3500), '0.003'); // one Step at batch size 1
  assert.equal(fmtEpochs(2516, 1258), '2.00');
  assert.equal(fmtEpochs(1258 * 12.34, 1258), '12.3');
  assert.equal(fmtEpochs(1258 * 250, 1258), '250');
});
