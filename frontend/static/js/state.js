// The one app-state object. Views read it; only main.js (fed by the socket) writes it, then
// emits a named event so each view redraws what it owns.

export function createState() {
  const listeners = new Map();
  return {
    schema: [],          // Param.schema() entries, in table order
    byName: {},          // name → schema entry
    config: null,        // every parameter's value, as the server last confirmed it
    model: null,         // config message's model: layers, features, num_classes, ...
    query: '',           // canonical share string from the server (no _hide keys)
    hidden: new Set(),   // controls hidden with <key>_hide=true
    version: 0,
    limits: null,        // from hello
    data: null,          // {train, test, numClasses, oneD, version}
    frame: null,         // last {header, arrays}
    runState: 'paused',  // paused | playing | diverged
    message: '',
    hoverNeuron: null,   // index into frame.neurons while the pointer is on a neuron

    on(event, fn) {
      if (!listeners.has(event)) listeners.set(event, []);
      listeners.get(event).push(fn);
    },
    emit(event, detail) {
      for (const fn of listeners.get(event) || []) fn(detail);
    },
  };
}

/** True when a parameter applies under the current config (its `only_when` holds). */
export function applies(param, config) {
  if (!param.only_when || !config) return true;
  return Object.entries(param.only_when).every(([key, values]) => values.includes(String(config[key])));
}

/** Number of classes for the current config (1 for regression). */
export function numClasses(state) {
  if (state.model?.num_classes) return state.model.num_classes;
  if (state.data) return state.data.numClasses;
  return 2;
}
