// Packed arrays from the lab server: {dtype, shape, b64} → a typed array with its shape.

const TYPES = { float32: Float32Array, uint8: Uint8Array, int32: Int32Array, int64: BigInt64Array };

/** Decode a packed array. Returns {data, shape}. */
export function unpack(packed) {
  const bin = atob(packed.b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const Type = TYPES[packed.dtype] || Float32Array;
  return { data: new Type(bytes.buffer), shape: packed.shape };
}

/** Smallest and largest value of a typed array (or of `len` values from `offset`). */
export function range(data, offset = 0, len = data.length) {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = offset; i < offset + len; i++) {
    const v = data[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}
