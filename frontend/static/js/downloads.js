// Files the page makes from what it holds: the network's weights as safetensors (readable with
// `safetensors.torch.load_file`, named as the exported script's `Net` names them) and the data
// as CSV. Nothing is sent anywhere: the file is built here and saved by the browser.

/** A safetensors file of float32 tensors `[{name, shape, data}]`: an 8-byte little-endian
 * header length, the JSON header (padded with spaces to 8 bytes), then the data. */
export function safetensors(tensors, metadata = {}) {
  const header = { __metadata__: metadata };
  let offset = 0;
  for (const { name, shape, data } of tensors) {
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.length * 4] };
    offset += data.length * 4;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const bytes = new Uint8Array(8 + head.length + offset);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(head.length), true);
  bytes.set(head, 8);
  let at = 8 + head.length;
  for (const { data } of tensors) {
    const view = new DataView(bytes.buffer, at, data.length * 4);
    data.forEach((v, i) => view.setFloat32(i * 4, v, true));
    at += data.length * 4;
  }
  return bytes;
}

/** The flat weights and biases of a frame as one tensor per layer: `weights.i` [out, in] and
 * `biases.i` [out], for layer sizes `sizes` (inputs, hidden…, outputs). */
export function layerTensors(sizes, weights, biases) {
  const out = [];
  let w = 0;
  let b = 0;
  for (let i = 0; i + 1 < sizes.length; i++) {
    const [nIn, nOut] = [sizes[i], sizes[i + 1]];
    out.push({ name: `weights.${i}`, shape: [nOut, nIn], data: weights.subarray(w, w + nIn * nOut) });
    out.push({ name: `biases.${i}`, shape: [nOut], data: biases.subarray(b, b + nOut) });
    w += nIn * nOut;
    b += nOut;
  }
  return out;
}

/** The data as CSV: x1, x2, the label (class or target) and which split a point is in. */
export function dataCsv({ train, test }, regression) {
  const rows = [`x1,x2,${regression ? 'target' : 'label'},split`];
  for (const [name, flat] of [['train', train], ['test', test]]) {
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const label = regression ? flat[i + 2] : Math.round(flat[i + 2]);
      rows.push(`${flat[i]},${flat[i + 1]},${label},${name}`);
    }
  }
  return `${rows.join('\n')}\n`;
}

/** Save `bytes` (a Uint8Array or string) as a file called `name`. */
export function save(name, bytes, type) {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
