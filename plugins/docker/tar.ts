/**
 * Tar streams for the Engine API: build contexts (`POST /build`) and live-update copies
 * (`PUT /containers/{id}/archive`). Entries are written one at a time as the daemon reads, so a
 * large context is never held in memory.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import tar from 'tar-stream';

export interface TarEntry {
  /** Path inside the archive, `/`-separated, no leading `/`. */
  name: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  mtime?: Date;
  uid?: number;
  gid?: number;
  linkname?: string;
  /** File content, or the file on disk to read it from. */
  content?: Buffer;
  source?: string;
}

/** Files at most this big are read whole, so a file that grows mid-build cannot break the archive. */
const READ_WHOLE_BYTES = 4 * 1024 * 1024;

export function packEntries(entries: Iterable<TarEntry> | AsyncIterable<TarEntry>): Readable {
  const pack = tar.pack();
  void (async () => {
    for await (const e of entries) await addEntry(pack, e);
    pack.finalize();
  })().catch((err) => pack.destroy(err));
  // tar-stream is built on streamx; wrap it so consumers get a plain Node stream (pipe, destroy, errors).
  return Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
}

async function addEntry(pack: tar.Pack, e: TarEntry): Promise<void> {
  const header: Partial<tar.Header> & { name: string } = {
    name: e.name,
    type: e.type,
    mode: e.mode & 0o7777,
    mtime: e.mtime ?? new Date(0),
    // Ownership as `docker build` sends it; a live update passes the container user's ids.
    uid: e.uid ?? 0,
    gid: e.gid ?? 0,
  };
  if (e.type === 'symlink') {
    await write(pack, { ...header, linkname: e.linkname ?? '' }, Buffer.alloc(0));
    return;
  }
  if (e.type === 'directory') {
    await write(pack, header, Buffer.alloc(0));
    return;
  }
  if (e.content) {
    await write(pack, { ...header, size: e.content.length }, e.content);
    return;
  }
  const { size } = await stat(e.source!);
  if (size <= READ_WHOLE_BYTES) {
    const buf = await readFile(e.source!);
    await write(pack, { ...header, size: buf.length }, buf);
    return;
  }
  // Streamed with the size seen now: bytes appended later are cut off rather than corrupting the archive.
  let done!: Promise<void>;
  const sink = new Promise<void>((resolve, reject) => {
    const w = pack.entry({ ...header, size }, (err?: Error | null) => (err ? reject(err) : resolve())) as unknown as NodeJS.WritableStream;
    done = (async () => {
      for await (const chunk of createReadStream(e.source!, { start: 0, end: size - 1 })) {
        if (!w.write(chunk as Buffer)) await once(w, 'drain');
      }
      w.end();
    })();
  });
  await Promise.all([done, sink]);
}

function write(pack: tar.Pack, header: Partial<tar.Header> & { name: string }, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry(header, body, (err) => (err ? reject(err) : resolve()));
  });
}
