// The output view's pure parts: data ↔ pixel coordinates and which grid a frame draws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlotGeometry, outputGrid, knnGrid, DOMAIN } from '../../frontend/static/js/boundary.js';

test('the plot puts x₁ left to right and x₂ bottom to top over the domain', () => {
  assert.deepEqual(DOMAIN, [-6, 6]);
  const g = new PlotGeometry(120, 10);
  assert.deepEqual(g.toPx(-6, 6), [10, 10]); // top left
  assert.deepEqual(g.toPx(6, -6), [130, 130]); // bottom right
  assert.deepEqual(g.toPx(0, 3), [70, 40]);
  assert.deepEqual(g.toData(...g.toPx(1.5, -4.5)), [1.5, -4.5]);
});

const typed = (Type, values, shape) => Object.assign(Type.from(values), { shape });

test('two classes draw the signed output; more draw classes with their confidence', () => {
  const output = typed(Int8Array, [1, 2, 3, 4], [2, 2]);
  assert.deepEqual(outputGrid({ arrays: { output } }, 2), { signed: output });
  const classes = typed(Uint8Array, [0, 2], [1, 2]);
  const confidence = typed(Uint8Array, [200, 90], [1, 2]);
  assert.deepEqual(outputGrid({ arrays: { classes, confidence } }, 3), { classes, confidence, k: 3 });
  assert.equal(outputGrid(null, 2), null);
  assert.equal(outputGrid({ arrays: {} }, 2), null);
});

test('a hovered neuron draws its own map, cut from the neurons array', () => {
  const neurons = typed(Int8Array, [1, 1, 1, 1, 5, 6, 7, 8], [2, 2, 2]);
  const output = typed(Int8Array, [0, 0, 0, 0], [2, 2]);
  const { signed } = outputGrid({ arrays: { neurons, output } }, 2, 1);
  assert.deepEqual([...signed], [5, 6, 7, 8]);
  assert.deepEqual(signed.shape, [2, 2]);
  assert.deepEqual(outputGrid({ arrays: { neurons, output } }, 2, 9), { signed: output }); // gone
});

test('k-NN classes draw at full confidence; a regression k-NN map draws signed', () => {
  const knn = typed(Uint8Array, [1, 0, 2], [3]);
  const grid = knnGrid({ arrays: { knn } }, 3);
  assert.equal(grid.classes, knn);
  assert.deepEqual([...grid.confidence], [255, 255, 255]);
  const signed = typed(Int8Array, [-3, 4], [2]);
  assert.deepEqual(knnGrid({ arrays: { knn: signed } }, 1), { signed });
  assert.equal(knnGrid({ arrays: {} }, 2), null);
  assert.equal(knnGrid(null, 2), null);
});
