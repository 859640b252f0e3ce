/**
 * While the HUD owns the screen, a stray console.log (a plugin's, a library's) would be written
 * over it. Such messages are routed into the TUI's project log instead, where they stay visible
 * in the all-services view; the originals come back on close.
 */
import { format } from 'node:util';
import type { LogLine } from '../../core/store/state.js';

type Method = 'log' | 'info' | 'debug' | 'warn' | 'error';
const LEVEL: Record<Method, LogLine['level']> = { log: 'info', info: 'info', debug: 'info', warn: 'warn', error: 'error' };

export function captureConsole(sink: (line: LogLine) => void): () => void {
  const saved = new Map<Method, (...args: unknown[]) => void>();
  for (const method of Object.keys(LEVEL) as Method[]) {
    saved.set(method, console[method]);
    console[method] = (...args: unknown[]) => sink({ time: Date.now(), level: LEVEL[method], message: format(...args) });
  }
  return () => {
    for (const [method, fn] of saved) console[method] = fn;
  };
}
