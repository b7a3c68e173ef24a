// Arrays in lab messages. A message that carries arrays comes as the binary envelope
// (docs/protocol.md); its header names each array where it stands: {"$array": "a0"}.

/** A decoded envelope ({header, arrays}) as the message it is: each {"$array": name} replaced
 * by that typed array (which carries its `.shape`). */
export function labMessage({ header, arrays }) {
  const resolve = (value) => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value && typeof value === 'object') {
      const keys = Object.keys(value);
      if (keys.length === 1 && keys[0] === '$array') return arrays[value.$array];
      return Object.fromEntries(keys.map((k) => [k, resolve(value[k])]));
    }
    return value;
  };
  const { arrays: _table, ...message } = header;
  return resolve(message);
}

/** An array of a lab message as {data, shape}. */
export function unpack(array) {
  return { data: array, shape: array.shape };
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
