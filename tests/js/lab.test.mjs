// The image lab's array helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unpack, range } from '../../frontend/static/lab/arrays.js';

const b64 = (typed) => Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength).toString('base64');

test('a packed array comes back with its type, values and shape', () => {
  const f = unpack({ dtype: 'float32', shape: [2, 2], b64: b64(Float32Array.from([0.5, -1, 2, 3.25])) });
  assert.ok(f.data instanceof Float32Array);
  assert.deepEqual([...f.data], [0.5, -1, 2, 3.25]);
  assert.deepEqual(f.shape, [2, 2]);
  const i = unpack({ dtype: 'int32', shape: [3], b64: b64(Int32Array.from([-7, 0, 9])) });
  assert.deepEqual([...i.data], [-7, 0, 9]);
  const u = unpack({ dtype: 'uint8', shape: [2], b64: b64(Uint8Array.from([0, 255])) });
  assert.deepEqual([...u.data], [0, 255]);
});

test('the range is the smallest and largest value, over a slice when asked', () => {
  const data = Float32Array.from([3, -2, 8, 0.5, -9]);
  assert.deepEqual(range(data), [-9, 8]);
  assert.deepEqual(range(data, 1, 2), [-2, 8]);
  assert.deepEqual(range(new Float32Array(0)), [Infinity, -Infinity]);
});
