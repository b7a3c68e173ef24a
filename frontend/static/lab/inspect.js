// Seeing inside: feature maps per layer, conv filters, test predictions, confusion matrix.
// Each view keeps its canvases and repaints them in place, so a frame costs no DOM churn.

import { t } from "../js/i18n.js";
import { range, unpack } from "./arrays.js";
import { paint, tile } from "./images.js";

/** Feature maps of the chosen example, one row per layer; `layers` = summary rows. */
export function drawMaps(root, maps, layers) {
  const rows = root.children;
  if (rows.length !== maps.length) {
    root.replaceChildren(
      ...maps.map(() => {
        const row = document.createElement("div");
        row.className = "map-row";
        row.innerHTML = `<div class="map-label"></div><div class="map-tiles"></div>`;
        return row;
      }),
    );
  }
  maps.forEach((m, i) => {
    const row = rows[i];
    const info = layers[m.layer] || {};
    row.querySelector(".map-label").innerHTML = `<b>${info.layer ?? ""}</b>${(info.output_shape || []).join("×")}`;
    const tiles = row.querySelector(".map-tiles");
    if (m.maps && m.layer === 0 && unpack(m.maps).shape[0] === 3) {
      // A colour input: the picture, then what each of its channels feeds the first layer.
      const { data, shape } = unpack(m.maps);
      const [, h, w] = shape;
      const [lo, hi] = range(data);
      fill(tiles, 4, () => tile(data, h, w, 0, { mode: "rgb", lo, hi }, 56));
      paint(tiles.children[0], data, h, w, 0, { mode: "rgb", lo, hi });
      tiles.children[0].title = t("lab.input.colour");
      for (let k = 0; k < 3; k++) {
        paint(tiles.children[k + 1], data, h, w, k * h * w, { mode: "channel", channel: k, lo, hi });
        tiles.children[k + 1].title = t(`lab.input.channel${k}`);
      }
    } else if (m.maps) {
      const { data, shape } = unpack(m.maps);
      const [c, h, w] = shape;
      const [lo, hi] = range(data);
      // Input pictures in ink; activations on the diverging scale shared by the whole layer.
      const opts = m.layer === 0 ? { mode: "ink", lo, hi } : { mode: "diverging", lo, hi };
      const size = Math.max(20, Math.min(56, Math.round(560 / Math.max(c, 10))));
      fill(tiles, c, () => tile(data, h, w, 0, opts, size));
      for (let k = 0; k < c; k++) paint(tiles.children[k], data, h, w, k * h * w, opts);
    } else {
      const { data } = unpack(m.vector);
      const [lo, hi] = range(data);
      fill(tiles, 1, () => tile(data, 1, data.length, 0, { mode: "diverging", lo, hi }, 10));
      const c = tiles.children[0];
      paint(c, data, 1, data.length, 0, { mode: "diverging", lo, hi });
      c.style.width = `${Math.min(560, data.length * 8)}px`;
      c.style.height = "14px";
    }
  });
}

function fill(parent, count, make) {
  if (parent.children.length === count) return;
  parent.replaceChildren(...Array.from({ length: count }, make));
}

/** Conv filters: per conv layer, every filter's first input channel(s) side by side. */
export function drawFilters(root, filters, layers) {
  if (!filters.length) {
    root.innerHTML = `<p class="hint small">${t("lab.noConv")}</p>`;
    return;
  }
  // Count rows, not children: the note above is a child too.
  const rows = root.getElementsByClassName("filter-layer");
  if (rows.length !== filters.length) {
    root.replaceChildren(
      ...filters.map(() => {
        const el = document.createElement("div");
        el.className = "map-row filter-layer";
        el.innerHTML = `<div class="map-label"></div><div class="map-tiles"></div>`;
        return el;
      }),
    );
  }
  filters.forEach((f, i) => {
    const el = rows[i];
    const { data, shape } = unpack(f.weights);
    const [n, c, k] = shape;
    const info = layers[f.layer] || {};
    el.querySelector(".map-label").innerHTML = `<b>${info.layer ?? "conv"}</b>${f.shape[0]} × ${k}×${k}×${f.shape[1]}`;
    const tiles = el.querySelector(".map-tiles");
    const [lo, hi] = range(data);
    const count = n; // one picture per filter
    // A filter over a colour picture is drawn in colour: grey where it ignores colour, red
    // where it looks for red. Symmetric about zero, as the diverging scale is.
    const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    const opts = f.shape[1] === 3 ? { mode: "rgb", lo: -m, hi: m } : { mode: "diverging", lo, hi };
    fill(tiles, count, () => tile(data, k, k, 0, opts, 26));
    // One picture per filter: its first input channel (all of it for a grey input).
    for (let j = 0; j < count; j++) paint(tiles.children[j], data, k, k, j * c * k * k, opts);
  });
}

/** One example of `examples` ([N, H, W] grey or [N, 3, H, W] colour) as a new tile. */
export function exampleTile(examples, i, cssSize) {
  const colour = examples.shape.length === 4;
  const [h, w] = examples.shape.slice(-2);
  const size = h * w * (colour ? 3 : 1);
  return tile(examples.data, h, w, i * size, { mode: colour ? "rgb" : "ink" }, cssSize);
}

/** Test examples with their top-3 classes (`names`: the class names); clicking one picks it
 * for the feature maps. */
export function drawPredictions(root, examples, preds, selected, onPick, names) {
  const n = preds.labels.length;
  if (root.children.length !== n) {
    root.replaceChildren(
      ...Array.from({ length: n }, (_, i) => {
        const el = document.createElement("div");
        el.className = "pred";
        el.title = t("lab.pickExample");
        el.append(exampleTile(examples, i, 28));
        for (let r = 0; r < 3; r++) el.append(Object.assign(document.createElement("div"), { className: "row" }));
        el.addEventListener("click", () => onPick(i));
        // A button for the keyboard too: Enter or Space picks the example.
        el.tabIndex = 0;
        el.setAttribute("role", "button");
        el.setAttribute("aria-label", `${t("lab.pickExample")} ${i}`);
        el.addEventListener("keydown", (ev) => {
          if (ev.key !== "Enter" && ev.key !== " ") return;
          ev.preventDefault();
          onPick(i);
        });
        return el;
      }),
    );
  }
  for (let i = 0; i < n; i++) {
    const el = root.children[i];
    const right = preds.top_classes[i][0] === preds.labels[i];
    el.className = `pred ${right ? "right" : "wrong"}${i === selected ? " selected" : ""}`;
    const rows = el.querySelectorAll(".row");
    for (let r = 0; r < 3; r++) {
      const p = preds.top_probs[i][r];
      const name = names[preds.top_classes[i][r]];
      rows[r].innerHTML = `<b title="${name}">${name}</b><i style="width:${Math.round(14 * p)}px"></i>${(100 * p).toFixed(0)}%`;
    }
  }
}

/** The confusion matrix: blue cells on the diagonal, orange off it, counts written in. */
export function drawConfusion(canvas, matrix) {
  const ctx = canvas.getContext("2d");
  const n = matrix.length;
  const pad = 18;
  const cell = (canvas.width - pad) / n;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.font = "10px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  for (let i = 0; i < n; i++) {
    const rowSum = matrix[i].reduce((a, b) => a + b, 0) || 1;
    ctx.fillStyle = "#70757a";
    ctx.fillText(String(i), pad / 2, pad + (i + 0.5) * cell);
    ctx.fillText(String(i), pad + (i + 0.5) * cell, pad / 2);
    for (let j = 0; j < n; j++) {
      const v = matrix[i][j];
      const a = v / rowSum;
      ctx.fillStyle = i === j ? `rgba(8,119,189,${0.08 + 0.92 * a})` : `rgba(245,147,34,${v ? 0.15 + 0.85 * a : 0.03})`;
      ctx.fillRect(pad + j * cell + 1, pad + i * cell + 1, cell - 2, cell - 2);
      if (v) {
        ctx.fillStyle = a > 0.5 ? "#fff" : "#202124";
        ctx.fillText(String(v), pad + (j + 0.5) * cell, pad + (i + 0.5) * cell);
      }
    }
  }
}
