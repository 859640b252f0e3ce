/**
 * The TUI's keys, in the page (ui/tui/help-lines.ts lists the TUI's): a Tilt or devloop user
 * reaches for them without thinking. Keys typed into a text box or a select stay theirs, except
 * Esc in the log filter, which clears it as in the TUI.
 */
import { h } from './dom.js';

export interface KeyActions {
  /** -1 up, +1 down. */
  move(step: number): void;
  act(action: 'rebuild' | 'trigger-mode' | 'debug'): void;
  toggleLogScope(): void;
  focusFilter(): void;
  clearFilter(): void;
  followNewest(): void;
}

const KEYS: [string, string][] = [
  ['↑ ↓  j k', 'select a service'],
  ['r', 'rebuild the selected service now'],
  ['t', 'switch its trigger mode: auto / manual'],
  ['d', 'debug the selected service (Node inspector)'],
  ['a', 'logs of all services / of the selected one'],
  ['/', 'filter the logs (esc clears; capitals make it case-sensitive)'],
  ['G  End', 'follow the newest lines'],
  ['?', 'this help'],
];

export function installKeys(actions: KeyActions): HTMLElement {
  const help = h('div', { id: 'help', class: 'panel', hidden: '' },
    h('div', { class: 'bar' }, h('strong', null, 'Keys'), h('span', { class: 'muted' }, '? or esc to close')),
    h('table', { class: 'kv' }, h('tbody', null, ...KEYS.map(([k, what]) => h('tr', null, h('th', null, k), h('td', null, what))))));
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const target = e.target as HTMLElement;
    if (target.id === 'log-filter') {
      if (e.key === 'Escape') { actions.clearFilter(); e.preventDefault(); }
      return;
    }
    if (target.closest('input, select, textarea, [contenteditable]')) return;
    const handled = (() => {
      switch (e.key) {
        case 'ArrowDown': case 'j': actions.move(1); return true;
        case 'ArrowUp': case 'k': actions.move(-1); return true;
        case 'r': actions.act('rebuild'); return true;
        case 't': actions.act('trigger-mode'); return true;
        case 'd': actions.act('debug'); return true;
        case 'a': actions.toggleLogScope(); return true;
        case '/': actions.focusFilter(); return true;
        case 'G': case 'End': actions.followNewest(); return true;
        case '?': help.hidden = !help.hidden; return true;
        case 'Escape': if (!help.hidden) { help.hidden = true; return true; } return false;
        default: return false;
      }
    })();
    if (handled) e.preventDefault();
  });
  return help;
}
