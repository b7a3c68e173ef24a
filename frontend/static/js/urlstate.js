// The address bar holds the whole experiment. The server owns the canonical form (it sends
// `query` with every config); this module only adds the classroom `_hide` keys and the page's
// own keys, writes the address bar with replaceState (no history spam), and reads what the
// page was opened with.

/** Everything after the path that describes an experiment: "?a=1&b=2#c=3" → "a=1&b=2&c=3". */
export function linkText(loc = window.location) {
  const parts = [loc.search.replace(/^\?/, ''), loc.hash.replace(/^#/, '')];
  return parts.filter(Boolean).join('&');
}

/** Controls hidden by `<key>_hide=true` in the link the page was opened with. */
export function hiddenFromLink(text) {
  const hidden = new Set();
  for (const item of text.split('&')) {
    const [key, value = ''] = item.split('=');
    if (key.endsWith('_hide') && ['true', '1'].includes(decodeURIComponent(value).toLowerCase())) {
      hidden.add(decodeURIComponent(key.slice(0, -5)));
    }
  }
  return hidden;
}

/** The full share string: the server's canonical query plus the sorted `_hide` keys. */
export function shareQuery(query, hidden) {
  const own = query.split('&').filter((kv) => kv && !kv.split('=')[0].endsWith('_hide'));
  const hides = [...hidden].sort().map((k) => `${k}_hide=true`);
  return [...own, ...hides].join('&');
}

// Keys the page reads itself (the lesson card), which the server's canonical query leaves out:
// they stay in the address bar however often it is rewritten, so a reload or a shared link
// opens the same page.
const PAGE_KEYS = ['lesson'];

function pageKeys(loc = window.location) {
  return linkText(loc).split('&').filter((kv) => PAGE_KEYS.includes(kv.split('=')[0]));
}

function replaceAddress(query) {
  const url = `${window.location.pathname}?${query}`;
  if (url !== window.location.pathname + window.location.search || window.location.hash) {
    window.history.replaceState(null, '', url);
  }
}

export function writeAddressBar(query, hidden) {
  replaceAddress([shareQuery(query, hidden), ...pageKeys()].filter(Boolean).join('&'));
}

/** Take a page key out of the address bar (the lesson card was closed). */
export function dropPageKey(key) {
  const kept = linkText().split('&').filter((kv) => kv && kv.split('=')[0] !== key);
  replaceAddress(kept.join('&'));
}

/** Copy the current link (or `href`); falls back to a selected text field where the clipboard
 * API is denied. */
export async function copyLink(href = window.location.href) {
  try {
    await navigator.clipboard.writeText(href);
    return true;
  } catch {
    const ta = document.createElement('textarea');
    ta.value = href;
    document.body.appendChild(ta);
    ta.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch { ok = false; }
    ta.remove();
    return ok;
  }
}
