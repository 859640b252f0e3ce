/**
 * Where a profiled function's source is, as a person reads it: a path relative to the project,
 * 1-based line, and through the script's source map when it has one (an esbuild bundle points
 * back at the TypeScript). Uses Node's own `module.SourceMap`: no source-map package needed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CallFrame, Located } from './summary.js';

interface LoadedMap { map: SourceMap; dir: string; sourceRoot: string }

/**
 * `hostFiles` false (a container's process): its paths are the container's, so they are shown as
 * they are and nothing is read from this machine at those paths.
 */
export function createLocator(projectRoot: string, hostFiles: boolean): (frame: CallFrame) => Located {
  const maps = new Map<string, LoadedMap | undefined>();
  const show = (file: string) => {
    const rel = path.relative(projectRoot, file);
    return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
  };
  return (frame) => {
    if (!frame.url) return { file: '' };
    const line = frame.lineNumber + 1;
    const file = frame.url.startsWith('file://') ? fileURLToPath(frame.url) : frame.url;
    // node:internal/..., evalmachine, a bare name: nothing to map or shorten.
    if (!path.isAbsolute(file)) return { file, line };
    if (!hostFiles) return { file, line };
    if (!maps.has(file)) maps.set(file, loadMap(file));
    const loaded = maps.get(file);
    const entry = loaded?.map.findEntry(frame.lineNumber, frame.columnNumber);
    if (loaded && entry && 'originalSource' in entry) {
      const src = entry.originalSource.startsWith('file://')
        ? fileURLToPath(entry.originalSource)
        : path.resolve(loaded.dir, loaded.sourceRoot, entry.originalSource);
      return { file: show(src), line: entry.originalLine + 1 };
    }
    return { file: show(file), line };
  };
}

/** The map a script's last `sourceMappingURL` comment names (a file beside it, or inline); undefined when none or unreadable. */
function loadMap(script: string): LoadedMap | undefined {
  try {
    const text = readFileSync(script, 'utf8');
    const ref = [...text.matchAll(/\/\/[#@] sourceMappingURL=(\S+)/g)].pop()?.[1];
    if (!ref) return undefined;
    let payload: SourceMapPayload;
    let dir = path.dirname(script);
    const inline = /^data:application\/json(?:;charset=[\w-]+)?;base64,(.*)$/.exec(ref);
    if (inline) {
      payload = JSON.parse(Buffer.from(inline[1], 'base64').toString('utf8'));
    } else {
      const mapFile = path.resolve(dir, decodeURIComponent(ref));
      if (!existsSync(mapFile)) return undefined;
      payload = JSON.parse(readFileSync(mapFile, 'utf8'));
      dir = path.dirname(mapFile);
    }
    return { map: new SourceMap(payload), dir, sourceRoot: payload.sourceRoot ?? '' };
  } catch {
    // A broken or foreign map only costs the mapping: the bundle's own position is shown.
    return undefined;
  }
}
