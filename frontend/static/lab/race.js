// The optimizer race view: six overlaid curves of training loss and validation accuracy.

import { choiceLabel, t } from "../js/i18n.js";
import { LineChart } from "./charts.js";

// Each racer's optimizer and colour; the key names them as the optimizer menu does.
export const RACERS = [
  ["sgd", "#80868b"],
  ["momentum", "#f59322"],
  ["adagrad", "#9334e6"],
  ["adadelta", "#188038"],
  ["rmsprop", "#d93025"],
  ["adam", "#0877bd"],
];

export class RaceView {
  constructor(lossCanvas, accCanvas, keyEl) {
    const series = RACERS.map(([name, color]) => ({ name, color }));
    this.loss = new LineChart(lossCanvas, series, { label: t("lab.chart.raceLoss"), log: true });
    this.acc = new LineChart(accCanvas, series, { label: t("lab.chart.raceAcc"), yRange: [0, 1] });
    keyEl.replaceChildren(...RACERS.map(([name, color]) => {
      const span = document.createElement("span");
      const dot = document.createElement("i");
      dot.style.background = color;
      span.append(dot, choiceLabel("optimizer", name));
      return span;
    }));
    this.loss.draw();
    this.acc.draw();
  }

  clear() {
    this.loss.clear();
    this.acc.clear();
  }

  push(msg) {
    this.loss.push(msg.examples, msg.loss);
    this.acc.push(msg.examples, msg.val_acc);
  }
}
