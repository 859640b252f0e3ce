/**
 * One model instance on its own thread (`instances > 1`): loads the session from the bytes it is
 * given, then runs each batch it receives and posts the outputs back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createSession, type Provider, type WorkerMessage } from './instances.js';
import { loadOrt, runSession, signatureOf } from './ort.js';
import type { HostTensor } from './types.js';

interface Data { bytes: Uint8Array; providers: Provider[]; instances: number; projectDir?: string }

const port = parentPort!;
const data = workerData as Data;
const post = (msg: WorkerMessage): void => port.postMessage(msg);

try {
  const ort = loadOrt(data.projectDir);
  const { session, provider } = await createSession(ort, data.bytes, data.providers, data.instances, {
    gpu: data.providers.includes('cuda'), instances: data.instances, projectDir: data.projectDir, warn: (message) => post({ kind: 'warn', message }),
  });
  port.on('message', ({ id, inputs }: { id: number; inputs: HostTensor[] }) => {
    runSession(ort, session, inputs).then(
      (outputs) => post({ kind: 'result', id, outputs }),
      (err: Error) => post({ kind: 'error', id, message: err.message }),
    );
  });
  post({ kind: 'ready', signature: signatureOf(session), provider });
} catch (err) {
  post({ kind: 'failed', message: (err as Error).message });
}
