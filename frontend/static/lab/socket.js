// The lab's WebSocket (see docs/lab-protocol.md): JSON messages both ways, and from the server
// binary ones for messages that carry arrays (the envelope of the 2-D lab's frames); reconnects
// on loss. A session the server closed for idleness (code 1000) comes back at the next message
// sent.

import { currentLang, t } from "../js/i18n.js";
import { decodeEnvelope } from "../js/protocol.js";
import { labMessage } from "./arrays.js";

export class LabSocket {
  /** `onMessage(msg)` gets every server message; `onStatus(text, open)` the connection state;
   * `path` is the lab's socket (the sequence lab's is /ws/seq). */
  constructor(onMessage, onStatus, path = "/ws/lab") {
    this.onMessage = onMessage;
    this.path = path;
    this.onStatus = onStatus;
    this.ws = null;
    this.onOpen = null;
    this.retry = 500;
    this.idle = false;
    this.starting = false; // a start from the link was sent and has no config yet
    this.unread = null; // why the link could not be read, for the config that follows
    this.linkLength = 0;
  }

  connect() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}${this.path}`);
    this.ws = ws;
    this.onStatus(t("ui.connecting"), false);
    ws.onopen = () => {
      this.retry = 500;
      this.onStatus(t("ui.connected"), true);
      if (this.onOpen) this.onOpen();
    };
    ws.binaryType = "arraybuffer";
    ws.onmessage = (ev) => {
      const msg = typeof ev.data === "string" ? JSON.parse(ev.data) : labMessage(decodeEnvelope(ev.data));
      if (this.starting && msg.type === "error" && msg.field === "url") {
        // A link the server cannot read at all (too long): open at the defaults, and say why,
        // in the page's language, among the warnings of the config that follows.
        this.starting = false;
        this.unread = t("lab.linkTooLong", { n: this.linkLength });
        this.send({ type: "start", lang: currentLang() });
        return;
      }
      if (msg.type === "config") {
        this.starting = false;
        if (this.unread) msg.warnings = [this.unread, ...(msg.warnings || [])];
        this.unread = null;
      }
      this.onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      if (ev.code === 1000) {
        this.idle = true; // no reconnect loop for a tab nobody is using
        this.onStatus(t("lab.idle"), false);
        return;
      }
      this.onStatus(t("ui.reconnecting"), false);
      setTimeout(() => this.connect(), this.retry);
      this.retry = Math.min(this.retry * 2, 8000);
    };
  }

  /** Start from the address bar's link on every (re)connect (after the first config it holds the
   * canonical link); `onReconnect()` runs on each connect after the first, when the server starts
   * the experiment again from the link. `lang` is the page's, not a lab setting: it is sent
   * apart, so the server does not warn about it. */
  startFromLink(onReconnect) {
    let opened = 0;
    this.onOpen = () => {
      if (opened++ > 0) onReconnect();
      const link = location.search.slice(1) || location.hash.slice(1);
      const query = link.split("&").filter((kv) => !kv.startsWith("lang=")).join("&");
      const lang = currentLang();
      this.starting = Boolean(query);
      this.linkLength = query.length;
      this.send(query ? { type: "start", url: query, lang } : { type: "start", lang });
    };
    this.connect();
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(msg));
    } else if (this.idle) {
      this.idle = false;
      this.connect(); // starts again from the link on open; this message is not replayed
    }
  }
}
