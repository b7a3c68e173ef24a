// A file the learner picks, read for a JSON message: its bytes as base64 text.

/** The size in bytes of `bytes` bytes written as base64. */
export function base64Size(bytes) {
  return 4 * Math.ceil(bytes / 3);
}

/** `file`'s bytes as base64 (a promise). */
export function fileBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);  // data:<type>;base64,<bytes>; an empty file: data:
      const comma = url.indexOf(',');
      resolve(comma < 0 ? '' : url.slice(comma + 1));
    };
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}
