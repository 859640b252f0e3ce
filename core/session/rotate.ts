/**
 * Log rotation on demand (disk pressure): each `.devloop/logs/*.jsonl` becomes its `.1` and
 * starts empty; older parts (`.1` and beyond) are deleted. The session's writer keeps its files
 * open in append mode, so the current part is copied and truncated rather than renamed: a
 * renamed file would go on receiving the writer's lines under its old inode.
 */
import { copyFile, readdir, stat, truncate, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Engine } from '../engine/engine.js';
import { sessionPaths } from './paths.js';

export interface RotateResult {
  /** `.jsonl` files whose content moved to `.1`. */
  rotated: string[];
  /** Files emptied without a `.1`: the disk had no room for the copy. */
  emptied: string[];
  /** Older parts deleted. */
  dropped: string[];
  /** Bytes given back to the disk. */
  freedBytes: number;
}

export async function rotateLogs(root: string): Promise<RotateResult> {
  const dir = sessionPaths(root).logsDir;
  const result: RotateResult = { rotated: [], emptied: [], dropped: [], freedBytes: 0 };
  let names: string[];
  try { names = await readdir(dir); } catch { return result; }
  const size = async (f: string) => { try { return (await stat(f)).size; } catch { return 0; } };
  // Old parts go first: on a full disk, their space is what makes room for the copies.
  for (const name of names.filter((n) => /\.jsonl\.\d+$/.test(n))) {
    const file = path.join(dir, name);
    const bytes = await size(file);
    try {
      await unlink(file);
      result.dropped.push(name);
      result.freedBytes += bytes;
    } catch { /* gone meanwhile */ }
  }
  for (const name of names.filter((n) => n.endsWith('.jsonl'))) {
    const file = path.join(dir, name);
    const bytes = await size(file);
    if (bytes === 0) continue;
    try {
      await copyFile(file, `${file}.1`);
      result.rotated.push(name);
    } catch {
      await unlink(`${file}.1`).catch(() => {});
      result.emptied.push(name);
      result.freedBytes += bytes;
    }
    await truncate(file, 0);
  }
  return result;
}

/** The session log writer's answer to disk pressure on the disk holding `.devloop/`. */
export function tapLogRotation(engine: Pick<Engine, 'hooks'>): void {
  engine.hooks.pressure.tapPromise('devloop:logs', async (ctx) => {
    if (ctx.kind !== 'disk' || !ctx.holds.includes('devloop')) return;
    const r = await rotateLogs(ctx.root);
    if (!r.rotated.length && !r.emptied.length && !r.dropped.length) return;
    const parts = [
      r.rotated.length ? `rotated ${r.rotated.length} log file${r.rotated.length === 1 ? '' : 's'} in .devloop/logs (the current part kept as .1)` : '',
      r.dropped.length ? `deleted ${r.dropped.length} older part${r.dropped.length === 1 ? '' : 's'}` : '',
      r.emptied.length ? `emptied ${r.emptied.join(', ')} without a copy (no room left for one)` : '',
    ].filter(Boolean);
    // Moving the current part to .1 frees nothing by itself: say so rather than "0 KiB freed".
    ctx.report(`${parts.join('; ')}: ${r.freedBytes ? `${formatBytes(r.freedBytes)} freed` : 'no space freed yet (the .1 parts go at the next rotation)'}`);
  });
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${Math.round(n / 1024)} KiB`;
}
