// Your own 2-D data: a CSV (x1, x2, label or target) chosen, dropped onto the data panel or
// pasted becomes the experiment's data. The server reads it (POST /api/data/csv) and answers the
// link's `data` key, or names the line and column at fault; the experiment changes only then.

import { currentLang, t } from './i18n.js';

export class OwnData {
  constructor({ panel, file, paste, pasteText, pasteUse, note, state, update, notices }) {
    Object.assign(this, { panel, note, state, update, notices });
    file.addEventListener('change', async () => {
      if (file.files[0]) await this.use(await file.files[0].text());
      file.value = '';
    });
    panel.addEventListener('dragover', (ev) => {
      if (![...ev.dataTransfer.types].includes('Files')) return;
      ev.preventDefault();
      panel.classList.add('dropping');
    });
    panel.addEventListener('dragleave', () => panel.classList.remove('dropping'));
    panel.addEventListener('drop', async (ev) => {
      panel.classList.remove('dropping');
      const dropped = ev.dataTransfer.files[0];
      if (!dropped) return;
      ev.preventDefault();
      await this.use(await dropped.text());
    });
    pasteUse.addEventListener('click', async () => {
      if (await this.use(pasteText.value)) paste.open = false;
    });
  }

  /** Send `text` to be read; on success the experiment takes it. Returns whether it did. */
  async use(text) {
    const problem = this.state.config?.problem ?? 'classification';
    let answer;
    try {
      const res = await fetch('/api/data/csv', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ csv: text, problem, lang: currentLang() }),
      });
      answer = await res.json();
    } catch {
      this.notices.show(t('ui.connectionLost'), 'error');
      return false;
    }
    if (answer.error) {
      this.notices.show(t('ui.ownDataBad', { error: answer.error.message }), 'error');
      return false;
    }
    // Points added or removed by hand belonged to the old data.
    this.update({ data: answer.data, points: [], removed: [] });
    this.notices.show(t('ui.ownDataUsed', { n: answer.points.toLocaleString('en-US') }), 'ok');
    return true;
  }

  /** Show whether the data is the user's own (and how to go back). */
  sync() {
    const own = !!this.state.config?.data;
    this.panel.classList.toggle('has-own-data', own);
    this.note.hidden = !own;
  }
}
