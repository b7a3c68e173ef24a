// The binary envelope of docs/protocol.md as the page decodes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEnvelope } from '../../frontend/static/js/protocol.js';

/** An envelope built by hand: header JSON padded to 4 bytes, arrays at their offsets. */
function envelope(header, parts) {
  const table = [];
  let offset = 0;
  for (const [name, dtype, shape, typed] of parts) {
    table.push({ name, dtype, shape, offset, bytes: typed.byteLength });
    offset += Math.ceil(typed.byteLength / 4) * 4;
  }
  let head = new TextEncoder().encode(JSON.stringify({ ...header, arrays: table }));
  const padded = new Uint8Array(Math.ceil(head.length / 4) * 4).fill(32);
  padded.set(head);
  head = padded;
  const buf = new Uint8Array(4 + head.length + offset);
  new DataView(buf.buffer).setUint32(0, head.length, true);
  buf.set(head, 4);
  for (const [i, [, , , typed]] of parts.entries()) {
    buf.set(new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength), 4 + head.length + table[i].offset);
  }
  return buf.buffer;
}

test('every array comes back with its type, values and shape', () => {
  const buf = envelope({ type: 'frame', epoch: 7 }, [
    ['boundary', 'int8', [2, 3], Int8Array.from([-127, -1, 0, 1, 64, 127])],
    ['confidence', 'uint8', [3], Uint8Array.from([0, 128, 255])],
    ['weights', 'float32', [2], Float32Array.from([0.5, -2.25])],
  ]);
  const { header, arrays } = decodeEnvelope(buf);
  assert.equal(header.type, 'frame');
  assert.equal(header.epoch, 7);
  assert.ok(arrays.boundary instanceof Int8Array);
  assert.deepEqual([...arrays.boundary], [-127, -1, 0, 1, 64, 127]);
  assert.deepEqual(arrays.boundary.shape, [2, 3]);
  assert.ok(arrays.confidence instanceof Uint8Array);
  assert.deepEqual([...arrays.confidence], [0, 128, 255]);
  assert.ok(arrays.weights instanceof Float32Array);
  assert.deepEqual([...arrays.weights], [0.5, -2.25]);
});

test('an array after an odd-sized one is read from its own offset', () => {
  const buf = envelope({}, [
    ['a', 'int8', [3], Int8Array.from([1, 2, 3])],
    ['b', 'float32', [1], Float32Array.from([3.5])],
  ]);
  const { arrays } = decodeEnvelope(buf);
  assert.deepEqual([...arrays.a], [1, 2, 3]);
  assert.deepEqual([...arrays.b], [3.5]);
});

test('a header without arrays decodes to no arrays', () => {
  const { header, arrays } = decodeEnvelope(envelope({ type: 'data' }, []));
  assert.equal(header.type, 'data');
  assert.deepEqual(arrays, {});
});

test('an unknown dtype is refused by name', () => {
  const buf = envelope({}, [['x', 'float64', [1], new Float64Array([1])]]);
  assert.throws(() => decodeEnvelope(buf), /unknown dtype float64 for x/);
});
