/** The environment a child process of devloop gets. */
import path from 'node:path';

/**
 * `process.env`, then each layer in order, with the project's `node_modules/.bin` folders put
 * first on PATH so that `tsc`, `vite`, `prisma` work in a command as they do in an npm script.
 */
export function childEnv(binDirs: string[], ...layers: Array<Record<string, string | undefined> | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const layer of layers) if (layer) Object.assign(env, layer);
  const bins = [...new Set(binDirs.map((d) => path.join(d, 'node_modules', '.bin')))];
  env.PATH = [...bins, env.PATH ?? ''].filter(Boolean).join(path.delimiter);
  return env;
}
