// Polite messages: link problems, server errors, "link copied". Each can be dismissed; most
// fade on their own. Repeats of a showing message are not stacked.

import { t } from './i18n.js';

export class Notices {
  constructor(host) {
    this.host = host;
    this.host.setAttribute('role', 'status');
    this.host.setAttribute('aria-live', 'polite');
  }

  /** kind: ok | info | warn | error; ms: 0 keeps it until dismissed. */
  show(text, kind = 'info', ms = kind === 'error' ? 12000 : 5000) {
    for (const n of this.host.children) if (n.dataset.text === text) return n;
    const n = document.createElement('div');
    n.className = `notice notice-${kind}`;
    n.dataset.text = text;
    const span = document.createElement('span');
    span.textContent = text;
    const x = document.createElement('button');
    x.type = 'button';
    x.className = 'notice-close';
    x.setAttribute('aria-label', t('ui.dismiss'));
    x.textContent = '×';
    x.addEventListener('click', () => n.remove());
    n.append(span, x);
    this.host.append(n);
    if (ms) setTimeout(() => n.remove(), ms);
    return n;
  }
}
