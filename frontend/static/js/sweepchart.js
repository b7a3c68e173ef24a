// The sweep's chart: final train and test loss against the swept value. The values sit evenly
// spaced in the order given (λ runs over decades and starts at 0, which no log axis can show),
// each labelled with its value; the lowest test loss is ringed. This is where the capacity
// curve shows: train loss moving one way, test loss dipping and coming back up.

import { fitCanvas } from './canvas.js';
import { t } from './i18n.js';

export const SWEEP_STYLE = {
  train_loss: { color: '#5f6368', dash: [] },
  test_loss: { color: '#202124', dash: [4, 3] },
  best: '#0877bd',
  diverged: '#c5221f',
};
const L = 44, R = 14, T = 16, B = 34;

/** A round step for about `n` ticks between 0 and `hi`. */
function tickStep(hi, n = 4) {
  const raw = hi / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw);
}

const finite = (v) => v !== null && v !== undefined && Number.isFinite(v);

/**
 * Draw the sweep: `labels` (one per value, as shown on the x axis), `points` (per value null
 * while it trains, else the server's record), `axis` (the parameter's name).
 * Returns where each value's points were drawn, in CSS pixels, and the best value's index.
 */
export function drawSweep(canvas, { labels, points, axis }) {
  const [ctx, w, h] = fitCanvas(canvas, 400, 200);
  const marks = labels.map(() => ({ train_loss: null, test_loss: null }));
  const n = labels.length;
  let hi = 0;
  for (const p of points) for (const key of ['train_loss', 'test_loss']) if (p && finite(p[key])) hi = Math.max(hi, p[key]);
  hi = hi > 0 ? hi * 1.08 : 1;
  const step = tickStep(hi);
  hi = Math.ceil(hi / step - 1e-9) * step;
  const slot = (w - L - R) / Math.max(n, 1);
  const X = (k) => L + slot * (k + 0.5);
  const Y = (v) => T + ((hi - v) / hi) * (h - T - B);

  ctx.fillStyle = '#70757a';
  ctx.strokeStyle = '#e8eaed';
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let v = 0; v <= hi + 1e-9; v += step) {
    const y = Math.round(Y(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(w - R, y); ctx.stroke();
    ctx.fillText(Number(v.toPrecision(3)).toString(), L - 6, y);
  }
  ctx.textAlign = 'left';
  ctx.textBaseline = 'top';
  ctx.fillText(t('ui.finalLoss'), 4, 0);
  ctx.textAlign = 'center';
  const every = Math.max(1, Math.ceil(Math.max(...labels.map((s) => ctx.measureText(s).width), 0) / (slot - 6)));
  labels.forEach((label, k) => {
    if (k % every === 0) ctx.fillText(label, X(k), h - B + 5);
  });
  ctx.fillStyle = '#5f6368';
  ctx.textBaseline = 'bottom';
  ctx.fillText(axis, L + (w - L - R) / 2, h);
  if (!points.some(Boolean)) {
    ctx.textBaseline = 'middle';
    ctx.fillStyle = '#70757a';
    ctx.fillText(t('ui.sweepEmpty'), L + (w - L - R) / 2, T + (h - T - B) / 2);
    return { marks, best: null };
  }

  let best = null;
  points.forEach((p, k) => { if (p && finite(p.test_loss) && (best === null || p.test_loss < points[best].test_loss)) best = k; });
  for (const key of ['train_loss', 'test_loss']) {
    const st = SWEEP_STYLE[key];
    ctx.strokeStyle = st.color;
    ctx.fillStyle = st.color;
    ctx.setLineDash(st.dash);
    ctx.lineWidth = 1.6;
    ctx.beginPath();
    let pen = false;
    points.forEach((p, k) => {
      if (!p || !finite(p[key])) { pen = false; return; }
      marks[k][key] = [X(k), Y(p[key])];
      if (pen) ctx.lineTo(X(k), Y(p[key])); else ctx.moveTo(X(k), Y(p[key]));
      pen = true;
    });
    ctx.stroke();
    ctx.setLineDash([]);
    for (const m of marks) {
      if (!m[key]) continue;
      ctx.beginPath();
      ctx.arc(m[key][0], m[key][1], 3.2, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  points.forEach((p, k) => {
    if (!p || finite(p.test_loss)) return;
    ctx.fillStyle = SWEEP_STYLE.diverged;
    ctx.textBaseline = 'top';
    ctx.fillText(`× ${t('ui.sweepDiverged')}`, X(k), T);
  });
  if (best !== null) {
    const [x, y] = marks[best].test_loss;
    ctx.strokeStyle = SWEEP_STYLE.best;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.arc(x, y, 7, 0, 2 * Math.PI);
    ctx.stroke();
  }
  return { marks, best };
}
