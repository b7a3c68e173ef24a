// The optimizer race view: six overlaid curves of training loss and validation accuracy.

import { t } from "../js/i18n.js";
import { LineChart } from "./charts.js";

export const RACERS = [
  ["sgd", "SGD", "#80868b"],
  ["momentum", "Momentum", "#f59322"],
  ["adagrad", "Adagrad", "#9334e6"],
  ["adadelta", "Adadelta", "#188038"],
  ["rmsprop", "RMSprop", "#d93025"],
  ["adam", "Adam", "#0877bd"],
];

export class RaceView {
  constructor(lossCanvas, accCanvas, keyEl) {
    const series = RACERS.map(([name, , color]) => ({ name, color }));
    this.loss = new LineChart(lossCanvas, series, { label: t("lab.chart.raceLoss"), log: true });
    this.acc = new LineChart(accCanvas, series, { label: t("lab.chart.raceAcc"), yRange: [0, 1] });
    keyEl.innerHTML = RACERS.map(([, label, color]) => `<span><i style="background:${color}"></i>${label}</span>`).join("");
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
