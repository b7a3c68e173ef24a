// Which weight or bias each link and bias square of the network diagram stands for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkPoint, paramLayout, shownValue, editMessage, paramAt } from '../../frontend/static/js/netparams.js';

const node = (x, y, size = 20) => ({ x, y, left: x - size / 2, right: x + size / 2 });
// Two inputs → three hidden → one output, columns 100 px apart.
const columns = [
  [node(10, 10), node(10, 50)],
  [node(110, 10), node(110, 50), node(110, 90)],
  [node(210, 50)],
];

test('a link starts at the right edge of its source and ends at the left edge of its target', () => {
  const [s, d] = [columns[0][0], columns[1][2]];
  assert.deepEqual(linkPoint(s, d, 0), { x: 20, y: 10 });
  assert.deepEqual(linkPoint(s, d, 1), { x: 100, y: 90 });
  assert.deepEqual(linkPoint(s, d, 0.5), { x: 60, y: 50 });
});

test('links index the flat weights row-major by layer, to, from', () => {
  const { links, biases } = paramLayout(columns, [2, 3, 1], [0, 1], 1, 20);
  assert.equal(links.length, 2 * 3 + 3 * 1);
  const w = links.map((l) => [l.layer, l.to, l.from, l.w]);
  assert.deepEqual(w.slice(0, 3), [[0, 0, 0, 0], [0, 0, 1, 1], [0, 1, 0, 2]]);
  assert.deepEqual(w.slice(6), [[1, 0, 0, 6], [1, 0, 1, 7], [1, 0, 2, 8]]);
  assert.deepEqual(biases.map((b) => b.b), [0, 1, 2, 3]);
  assert.ok(links.every((l) => l.w0 === null));
});

test('a two-class softmax drawn as one node shows class 1 minus class 0', () => {
  const { links, biases } = paramLayout(columns, [2, 3, 2], [0, 1], 2, 20);
  const out = links.filter((l) => l.layer === 1);
  assert.deepEqual(out.map((l) => [l.w, l.w0]), [[6 + 3, 6], [6 + 4, 7], [6 + 5, 8]]);
  const weights = Float32Array.from([0, 0, 0, 0, 0, 0, 1, 2, 3, 1.5, 2.5, 3.5]);
  assert.equal(shownValue(out[0], weights, null), 0.5);
  assert.deepEqual(editMessage(out[0], 2, weights, null),
    ['set_weight', { layer: 1, to: 1, from: 0, value: 3 }]);
  const bias = biases.at(-1);
  assert.deepEqual([bias.b, bias.b0], [3 + 1, 3]);
  assert.deepEqual(editMessage(bias, -1, null, Float32Array.from([0, 0, 0, 0.25, 0.75])),
    ['set_bias', { layer: 1, to: 1, value: -0.75 }]);
});

test('only the enabled features get links, from their own rows', () => {
  const { links } = paramLayout(columns, [1, 3, 1], [1], 1, 20);
  const first = links.filter((l) => l.layer === 0);
  assert.ok(first.every((l) => l.s === columns[0][1]));
  assert.equal(shownValue(first[0], undefined, undefined), undefined); // no frame yet
});

test('the pointer picks the bias square, then the nearest link within tolerance', () => {
  const layout = paramLayout(columns, [2, 3, 1], [0, 1], 1, 20);
  const sq = layout.biases[1].rect;
  assert.equal(paramAt(layout, sq.x + 1, sq.y + 1, 5), layout.biases[1]);
  const mid = linkPoint(columns[0][0], columns[1][2], 0.5);
  const hit = paramAt(layout, mid.x, mid.y + 2, 5);
  assert.deepEqual([hit.layer, hit.to, hit.from], [0, 2, 0]);
  assert.equal(paramAt(layout, 60, 300, 5), null);
});
