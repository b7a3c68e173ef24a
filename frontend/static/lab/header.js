// What every lab page's header does alike: the Copy link button (the Clipboard API, else the
// copy command, as on plain http over a LAN) and Space to play or pause.

import { t } from "../js/i18n.js";
import { shortcutAllowed } from "../js/keys.js";
import { copyLink } from "../js/urlstate.js";

/** Wire the header's Copy link `button` and Space (outside text fields) to `togglePlay`. */
export function wireHeader(button, togglePlay) {
  button.addEventListener("click", async () => {
    button.textContent = (await copyLink()) ? t("lab.copied") : t("lab.copyManually");
    setTimeout(() => (button.textContent = t("ui.copyLink")), 1500);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === " " && shortcutAllowed(e)) {
      e.preventDefault();
      togglePlay();
    }
  });
}
