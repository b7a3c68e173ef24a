// The pages' keyboard shortcuts (space: play/pause; s: step; r: reset) never take a key from the
// element that has focus: Space presses a focused button, ticks a checkbox, picks a dataset
// tile; letters type into fields. Only keys nothing else uses become shortcuts.

const SPACE_USERS = [
  'button', 'a[href]', 'summary', 'input', 'select', 'textarea', '[contenteditable]',
  '[role=button]', '[role=radio]', '[role=tab]', '[role=checkbox]', '[role=switch]',
  '[role=option]', '[role=menuitem]', '[role=application]',
].join(', ');
const TEXT_USERS = [
  'input:not([type=range]):not([type=checkbox]):not([type=radio]):not([type=button])',
  'select', 'textarea', '[contenteditable]',
].join(', ');

/** Whether a page shortcut may take this key press: false when a modifier is held or when the
 * focused element uses the key itself. */
export function shortcutAllowed(ev) {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return false;
  const el = ev.target;
  if (!el || typeof el.closest !== 'function') return true;
  return !el.closest(ev.key === ' ' ? SPACE_USERS : TEXT_USERS);
}
