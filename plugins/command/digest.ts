/**
 * Content digest of build outputs: files and whole folders, by relative name and bytes, so a
 * rebuild that produces identical outputs can be recognised (and its restart skipped).
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';

export async function hashPaths(paths: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const p of [...paths].sort()) await hashEntry(hash, p, path.basename(p));
  return hash.digest('hex');
}

async function hashEntry(hash: Hash, abs: string, name: string): Promise<void> {
  const st = await lstat(abs);
  if (st.isSymbolicLink()) {
    hash.update(`L\0${name}\0${await readlink(abs)}\0`);
  } else if (st.isDirectory()) {
    hash.update(`D\0${name}\0`);
    for (const entry of (await readdir(abs)).sort()) await hashEntry(hash, path.join(abs, entry), `${name}/${entry}`);
  } else if (st.isFile()) {
    hash.update(`F\0${name}\0${st.size}\0`);
    for await (const chunk of createReadStream(abs)) hash.update(chunk as Buffer);
  }
}
