// The numbers of the training readout, as the lab writes them.

/** A loss with three decimals, or in exponent form below 0.001, where three decimals read 0. */
export function fmtLoss(v) {
  if (v === null || v === undefined) return "—";
  return (v < 0.001 && v > 0) || v >= 1e4 ? v.toExponential(1) : v.toFixed(3);
}

/** Epochs trained, as a fraction: a Step of 10 mini-batches is often a small part of one, and
 * the counter moves with it. At least one significant digit shows below 0.01. */
export function fmtEpochs(examples, trainSize) {
  if (!examples || !trainSize) return "0";
  const e = examples / trainSize;
  if (e >= 100) return e.toFixed(0);
  if (e >= 10) return e.toFixed(1);
  return e >= 0.01 ? e.toFixed(2) : e.toPrecision(1);
}
