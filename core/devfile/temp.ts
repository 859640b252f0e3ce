/**
 * The temp `.mjs` files written beside a TypeScript module (the Devfile, a plugin given by path)
 * so Node can import it. They appear and vanish on every load; the watcher ignores them, or a
 * service watching the project root would rebuild on every Devfile reload.
 */
import { randomBytes } from 'node:crypto';

export const TEMP_BUNDLE = /\.timestamp-\d+-[0-9a-f]+\.mjs$/;

export function tempBundlePath(file: string): string {
  return `${file}.timestamp-${Date.now()}-${randomBytes(4).toString('hex')}.mjs`;
}
