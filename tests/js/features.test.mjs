// The input features the network diagram draws before the server sends their maps
// (tests/test_javascript.py checks the same functions against playground_models/features.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FEATURE_FUNCTIONS, featureMap, gridAxes } from '../../frontend/static/js/features.js';

test('the grid runs left to right in x₁ and top to bottom in x₂, at cell centres', () => {
  const [xs, ys] = gridAxes(4);
  assert.deepEqual(xs, [-4.5, -1.5, 1.5, 4.5]);
  assert.deepEqual(ys, [4.5, 1.5, -1.5, -4.5]);
});

test('every feature is a function of the point', () => {
  const f = FEATURE_FUNCTIONS;
  assert.deepEqual(Object.keys(f), ['x', 'y', 'xSquared', 'ySquared', 'xTimesY', 'sinX', 'sinY']);
  assert.equal(f.x(2, 3), 2);
  assert.equal(f.y(2, 3), 3);
  assert.equal(f.xSquared(-2, 3), 4);
  assert.equal(f.ySquared(2, -3), 9);
  assert.equal(f.xTimesY(2, -3), -6);
  assert.equal(f.sinX(Math.PI / 2, 0), 1);
  assert.equal(f.sinY(0, -Math.PI / 2), -1);
});

test('a feature map is 127·clamp(f, −1, 1), row-major with the top row first', () => {
  const m = 4;
  const x = featureMap('x', m);
  assert.ok(x instanceof Int8Array);
  assert.deepEqual([...x.slice(0, 4)], [-127, -127, 127, 127]); // |x₁| ≥ 1.5 saturates
  const sinY = featureMap('sinY', m);
  const row0 = Math.round(127 * Math.sin(4.5));
  assert.deepEqual([...sinY.slice(0, 4)], [row0, row0, row0, row0]);
  assert.deepEqual([...sinY.slice(12)], Array(4).fill(-row0));
});

test('an unknown feature draws as zeros', () => {
  assert.deepEqual([...featureMap('nope', 3)], Array(9).fill(0));
});
