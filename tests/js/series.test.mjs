// Loss and gradient histories whose cost stays bounded however long a run trains.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecimatedSeries } from '../../frontend/static/js/losschart.js';
import { GradHistory, sharedRange } from '../../frontend/static/js/gradchart.js';

test('a full series drops every other sample and doubles its stride', () => {
  const s = new DecimatedSeries(['loss'], 4);
  for (let e = 0; e < 4; e++) assert.ok(s.push(e, { loss: e / 10 }));
  assert.ok(s.push(4, { loss: 0.4 })); // full: halves to epochs 0, 2, then takes 4
  assert.deepEqual(s.toJSON().map((r) => r.epoch), [0, 2, 4]);
  assert.equal(s.stride, 2);
  assert.equal(s.push(5, { loss: 0.5 }), false); // inside the stride: skipped
  assert.ok(s.push(6, { loss: 0.6 }));
  assert.deepEqual(s.toJSON(), [0, 2, 4, 6].map((e) => ({ epoch: e, loss: e / 10 })));
});

test('a long run still spans from its first epoch within the capacity', () => {
  const s = new DecimatedSeries(['a'], 16);
  for (let e = 0; e < 10000; e++) s.push(e, { a: e });
  assert.ok(s.length <= 16);
  const epochs = s.toJSON().map((r) => r.epoch);
  assert.equal(epochs[0], 0);
  assert.ok(epochs.at(-1) > 10000 - 2 * s.stride, `last kept epoch ${epochs.at(-1)}`);
});

test('missing values come back as null', () => {
  const s = new DecimatedSeries(['train', 'test']);
  s.push(1, { train: 0.5, test: null });
  s.push(2, { train: 0.4 });
  assert.deepEqual(s.toJSON(), [
    { epoch: 1, train: 0.5, test: null },
    { epoch: 2, train: 0.4, test: null },
  ]);
});

test('gradient histories keep each layer in order, W1 first', () => {
  const h = new GradHistory(3);
  h.push(1, [1e-5, 1e-3, 0.1]);
  h.push(2, [2e-5, null, 0.2]);
  assert.deepEqual(h.toJSON(), [
    { epoch: 1, norms: [1e-5, 1e-3, 0.1] },
    { epoch: 2, norms: [2e-5, null, 0.2] },
  ]);
  assert.deepEqual(h.extent().map((v) => Math.round(v * 1000) / 1000), [-5, -0.699]);
});

test('cards share a range of whole decades, at least two wide', () => {
  const a = new GradHistory(2);
  a.push(1, [3e-5, 0.5]);
  const b = new GradHistory(2);
  b.push(1, [0.02, 40]);
  assert.deepEqual(sharedRange([a, b]), [-5, 2]);
  const flat = new GradHistory(1);
  flat.push(1, [0.5]);
  assert.deepEqual(sharedRange([flat]), [-1, 1]);
  assert.deepEqual(sharedRange([new GradHistory(2), null]), [-4, 0]); // nothing yet
});

test('a rewind cuts the series: the past stays, the old future goes to a series of its own', () => {
  const s = new DecimatedSeries(['loss'], 8);
  for (let e = 0; e <= 10; e++) s.push(e, { loss: 1 / (e + 1) });  // full at 8: stride 2
  assert.deepEqual(s.toJSON().map((r) => r.epoch), [0, 2, 4, 6, 8, 10]);
  const old = s.cut(5);
  assert.deepEqual(s.toJSON().map((r) => r.epoch), [0, 2, 4]);
  assert.deepEqual(old.toJSON().map((r) => r.epoch), [6, 8, 10]);
  assert.equal(old.stride, 2);
  assert.ok(s.push(5, { loss: 0.5 }), 'the moment gone back to starts the fork');
  assert.equal(s.push(6, { loss: 0.4 }), false);  // then the stride again
  assert.ok(s.push(7, { loss: 0.3 }));
  const again = s.cut(7);  // a cut at a kept sample keeps it, once
  assert.deepEqual(s.toJSON().map((r) => r.epoch), [0, 2, 4, 5, 7]);
  assert.deepEqual(again.toJSON().map((r) => r.epoch), [7]);
  assert.equal(s.push(7, { loss: 0.3 }), false);
  assert.deepEqual(s.at(6), { epoch: 5, loss: 0.5 });
  assert.equal(s.at(-1), null);
});
