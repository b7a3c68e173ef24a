// The layer editor: one row per layer with its live output shape, parameter count and formula,
// checked by the server (/api/lab/summary) so the page and `netplay summary` never disagree.

import { t } from "../js/i18n.js";

const fmt = (n) => n.toLocaleString("en-US");

/** One of a layer's texts in the page language: the server sends each sentence's catalogue key
 * and values beside its English. */
function said(layer, what) {
  const m = layer.messages?.[what];
  return m ? t(m.key, m.values) : layer[what] || "";
}

export class LayerEditor {
  /** `onBuild(net)` is called when the learner asks to train the edited network. */
  constructor(root, onBuild) {
    this.body = root.querySelector("#layers");
    this.total = root.querySelector("#total");
    this.msg = root.querySelector("#editor-msg");
    this.applyBtn = root.querySelector("#apply");
    this.tokens = [];
    this.running = "";
    this.data = "digits";
    this.batchSize = 32; // the running batch: the server's activation limit depends on it
    this.timer = 0;
    this.request = 0;
    this.onBuild = onBuild;
    this.applyBtn.addEventListener("click", () => this.onBuild(this.text()));
    root.querySelector("#add").addEventListener("click", () => {
      const kind = root.querySelector("#add-kind").value;
      this.tokens.splice(Math.max(this.tokens.length - 1, 1), 0, kind);
      this.refresh();
    });
  }

  text() {
    return this.tokens.join("-");
  }

  /** Show `net` as the running network (after the server accepted it). */
  setRunning(net, data, summary) {
    this.running = net;
    this.data = data;
    this.tokens = net.split("-");
    if (summary) this.render(summary);
    else this.refresh();
  }

  refresh() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), 120);
  }

  async check() {
    const id = ++this.request;
    const q = new URLSearchParams({ net: this.text(), data: this.data, batchSize: this.batchSize });
    const res = await fetch(`/api/lab/summary?${q}`);
    const body = await res.json();
    if (id !== this.request) return; // a newer edit is already on its way
    if (!res.ok) {
      this.msg.textContent = body.message;
      this.msg.classList.add("bad");
      this.applyBtn.disabled = true;
      return;
    }
    this.render(body);
  }

  render(summary) {
    // Over one of the server's limits (parameters, activation memory, input size): the layers
    // fit, but the server would refuse to build the net, so say which limit and why.
    const over = summary.fits ? summary.over_limits || [] : [];
    const ok = summary.fits && !over.length;
    this.msg.classList.toggle("bad", over.length > 0);
    const dirty = this.text() !== this.running;
    this.applyBtn.classList.toggle("dirty", dirty && ok);
    this.applyBtn.disabled = !ok;
    this.applyBtn.textContent = t(dirty ? "lab.buildTrain" : "lab.build");
    this.total.textContent = summary.total_params == null
      ? t("lab.parametersUnknown")
      : t("lab.parameters", { n: fmt(summary.total_params) });
    this.msg.textContent = over.length
      ? over.map((o) => o.message).join("; ")
      : summary.fits
        ? t("lab.editHint")
        : t("lab.notFit", { n: summary.errors.length });
    this.body.replaceChildren(...summary.layers.map((l) => this.row(l)));
  }

  row(l) {
    const tr = document.createElement("tr");
    // After a layer that does not fit, what depends on it is unknown (null): "—", never a guess.
    const unknown = l.output_shape == null || l.params == null;
    if (l.error) tr.className = "bad";
    else if (unknown) tr.className = "unknown";
    else if (l.note) tr.className = "note";
    const shape = l.output_shape == null ? "—" : l.output_shape.join("×");
    const params = l.params == null ? "—" : l.params ? fmt(l.params) : "";
    const how = said(l, l.error ? "error" : l.note ? "note" : l.params ? "formula" : "shape_formula");
    tr.innerHTML = `<td class="idx">${l.index}</td><td><input class="tok" spellcheck="false"
      aria-label="${t("lab.layerN", { n: l.index })}"><span class="formula"></span></td>
      <td class="num">${shape}</td><td class="num">${params}</td><td></td>`;
    const input = tr.querySelector("input");
    input.value = this.tokens[l.index] ?? l.layer;
    tr.querySelector(".formula").textContent = how;
    tr.querySelector(".formula").title = how;
    input.addEventListener("change", () => {
      this.tokens[l.index] = input.value.trim() || this.tokens[l.index];
      this.refresh();
    });
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") input.blur();
    });
    if (l.index > 0) {
      const del = document.createElement("button");
      del.className = "del";
      del.type = "button";
      del.title = t("lab.removeLayer");
      del.textContent = "×";
      del.addEventListener("click", () => {
        this.tokens.splice(l.index, 1);
        this.refresh();
      });
      tr.lastElementChild.append(del);
    }
    return tr;
  }
}
