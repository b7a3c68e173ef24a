// The WebSocket session (docs/protocol.md, version 1): connect, reconnect, send, and decode the
// binary envelope into typed arrays. Knows nothing about the page.

export const PROTOCOL_VERSION = 1;

const DTYPES = { int8: Int8Array, uint8: Uint8Array, float32: Float32Array };

// Browsers that can inflate ask for binary messages compressed as raw DEFLATE: the server then
// compresses on its worker threads instead of its event loop (docs/protocol.md, `start`).
const CAN_INFLATE = typeof DecompressionStream === 'function';

async function inflate(buffer) {
  const stream = new Blob([buffer]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  return new Response(stream).arrayBuffer();
}

/**
 * Decode one binary message: uint32 LE header length H, H bytes of JSON header, then arrays.
 * Returns { header, arrays: {name: TypedArray with .shape} }.
 */
export function decodeEnvelope(buffer) {
  const view = new DataView(buffer);
  const headerLen = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, headerLen)));
  const base = 4 + headerLen;
  const arrays = {};
  for (const a of header.arrays || []) {
    const Type = DTYPES[a.dtype];
    if (!Type) throw new Error(`unknown dtype ${a.dtype} for ${a.name}`);
    // Copy so the typed array is aligned whatever the offset (and owns its memory).
    const bytes = buffer.slice(base + a.offset, base + a.offset + a.bytes);
    const arr = new Type(bytes);
    arr.shape = a.shape;
    arrays[a.name] = arr;
  }
  return { header, arrays };
}

/**
 * A self-healing connection. `handlers`: onOpen(), onMessage(msg) for JSON,
 * onBinary({header, arrays}), onStatus('connecting'|'open'|'closed'|'idle'). Messages reach the
 * handlers in the order they arrived, inflating binary ones on the way. A session the server
 * closed for idleness (code 1000) is not reopened until the page next sends something.
 */
export class Connection {
  constructor(url, handlers) {
    this.url = url;
    this.h = handlers;
    this.retryMs = 400;
    this.ws = null;
    this.closedByUs = false;
    this.inflate = CAN_INFLATE;
    this.idle = false;
    this.queue = Promise.resolve();
    this.open();
  }

  async deliver(ws, data) {
    if (this.ws !== ws) return; // a message from a socket since replaced
    if (typeof data === 'string') {
      let msg;
      try { msg = JSON.parse(data); } catch { return; }
      this.h.onMessage?.(msg);
      return;
    }
    const buffer = this.inflate ? await inflate(data) : data;
    // A frame still being inflated when its socket closed is old news: the page has paused.
    if (this.ws === ws && ws.readyState === WebSocket.OPEN) this.h.onBinary?.(decodeEnvelope(buffer));
  }

  open() {
    this.h.onStatus?.('connecting');
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      this.retryMs = 400;
      this.h.onStatus?.('open');
    };
    ws.onmessage = (ev) => {
      this.queue = this.queue.then(() => this.deliver(ws, ev.data)).catch((err) => console.error(err));
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      if (ev.code === 1000 && !this.closedByUs) {
        this.idle = true; // no reconnect loop for a tab nobody is using
        this.h.onStatus?.('idle');
        return;
      }
      this.h.onStatus?.('closed');
      if (this.closedByUs) return;
      // Back off gently: a restarting server comes back within seconds.
      setTimeout(() => this.open(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 1.6, 5000);
    };
    ws.onerror = () => {}; // onclose follows and handles it
  }

  get isOpen() {
    return this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  send(type, fields = {}) {
    if (this.idle) {
      this.idle = false;
      this.open(); // the page starts again from its link on hello; this message is not replayed
      return false;
    }
    if (!this.isOpen) return false;
    const extra = type === 'start' && this.inflate ? { compression: 'deflate-raw' } : {};
    this.ws.send(JSON.stringify({ type, ...fields, ...extra }));
    return true;
  }

  close() {
    this.closedByUs = true;
    this.ws?.close();
  }
}
