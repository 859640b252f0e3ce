/**
 * `devloop down`: stops the running session of this project, then removes anything an earlier
 * session left behind (containers by label, recorded process groups) through the plugins'
 * `cleanup` hook, so it also works after devloop itself crashed.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { LoadedDevfile } from '../../core/devfile/load.js';
import { DevloopError } from '../../core/errors.js';
import { findSession, isAlive, request } from '../../core/session/client.js';
import { cleanupStaleProcesses } from '../../plugins/local-process/index.js';
import { createProjectEngine, EXIT, load, projectDir, type GlobalOptions } from '../shared.js';

export async function down(opts: GlobalOptions): Promise<number> {
  // `down` must work when the Devfile is broken, endless or absent (a `devloop cloudrun replace`
  // session): the session is found by its folder without running the Devfile, and leftovers by
  // their labels and records. The Devfile is loaded (under its time limit) only after the session
  // is stopped, for the plugins it names; failing that, the built-in ones clean up.
  const dir = await projectDir(opts);
  const session = await findSession(dir);
  if (session) {
    process.stdout.write(`stopping the devloop session (pid ${session.pid})...\n`);
    await request(session.socket, 'POST', '/stop');
    const deadline = Date.now() + 60_000;
    while (isAlive(session.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (isAlive(session.pid)) {
      process.stderr.write(`the session (pid ${session.pid}) did not stop within 60 s; cleaning up around it\n`);
    }
  }
  // `-f service.yaml` names a `cloudrun replace` session's folder: the built-in plugins clean up,
  // without a warning, where only replace ran; where the folder also holds a Devfile.ts, its
  // plugins (third-party ones may have left things too) clean up as after `up`.
  const builtinOnly: LoadedDevfile = { file: path.join(dir, 'Devfile.ts'), dir, config: { services: {} }, dependencies: [], loadMs: 0 };
  let loaded: LoadedDevfile = builtinOnly;
  const yaml = opts.file !== undefined && /\.ya?ml$/i.test(opts.file);
  if (!yaml || existsSync(builtinOnly.file)) {
    try {
      loaded = await load(yaml ? { ...opts, file: builtinOnly.file } : opts, 'down');
    } catch (err) {
      const absent = opts.file === undefined && err instanceof DevloopError && err.code === 'DEVFILE_NOT_FOUND';
      if (!absent) process.stderr.write(`devloop: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}; cleaning up in ${dir} with the built-in plugins only\n`);
    }
  }
  const engine = await createProjectEngine(loaded, opts, undefined, 'down');
  const messages: string[] = [];
  engine.subscribe((_s, a) => { if (a.type === 'log') messages.push(a.line.message); });
  await engine.cleanup();
  // The session is gone (or would not stop): every recorded process group of this project goes.
  await cleanupStaleProcesses(loaded.dir, { all: true });
  for (const m of messages) process.stdout.write(`${m}\n`);
  process.stdout.write(session ? 'stopped\n' : 'no session was running; leftovers cleaned up\n');
  return EXIT.ok;
}
