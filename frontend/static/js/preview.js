// Dataset thumbnails from /api/preview, drawn with the same colours as the output (and the
// same orientation: larger x₂ up, so a thumbnail is never upside-down, unlike TF Playground's).

import { labelColor } from './colors.js';

const cache = new Map();

export async function drawPreview(state, name, value, canvas) {
  const link = name === 'regDataset' ? `problem=regression&regDataset=${value}` : `${name}=${value}`;
  const key = new URLSearchParams({ url: link, max_points: '150' }).toString();
  try {
    if (!cache.has(key)) {
      cache.set(key, fetch(`/api/preview?${key}`).then((r) => (r.ok ? r.json() : null)).catch(() => null));
    }
    const data = await cache.get(key);
    const pts = data?.train;
    if (!pts) return;
    const k = data.num_classes ?? (name === 'regDataset' ? 1 : 2);
    const ctx = canvas.getContext('2d');
    const s = canvas.width;
    ctx.fillStyle = '#f8f9fa';
    ctx.fillRect(0, 0, s, s);
    for (const p of pts) {
      const [x1, x2, label] = p;
      const oneD = data.one_d;
      let x = ((x1 + 6) / 12) * s;
      let y = ((6 - x2) / 12) * s;
      if (oneD) y = s / 2 - (label / 6) * (s / 2.4);
      ctx.fillStyle = labelColor(label, k);
      ctx.fillRect(x - 1, y - 1, 2.2, 2.2);
    }
  } catch {
    // No preview: the tile keeps its name, which is enough to choose by.
  }
}
