/**
 * Liveness probes of a ready instance: they start once startup passed (after
 * initialDelaySeconds), run every periodSeconds, and after failureThreshold failures in a row the
 * instance is reported unhealthy (the revision replaces it), as Cloud Run restarts a container
 * that fails them. Watching ends when the instance exits or stops being ready.
 */
import { probeClientError, probeOnce, type InstanceHandle } from './instances.js';
import type { Probe } from './types.js';

export interface LivenessTarget {
  handle: InstanceHandle;
  /** The probe, its port already mapped to where the instance listens. */
  probe: Probe;
  /** Whether the instance is still ready and current; false ends the watch. */
  serving(): boolean;
  failed(failures: number, why: string): void;
}

export function watchLiveness(t: LivenessTarget): void {
  const { handle, probe } = t;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  const life = new AbortController();
  const end = () => { clearInterval(timer); clearTimeout(first); life.abort(); };
  const check = async () => {
    if (!t.serving()) { end(); return; }
    const result = await probeOnce(handle.host, probe, life.signal).catch((err: Error) => ({ ok: false, why: err.message }));
    if (life.signal.aborted || !t.serving()) return;
    if (result.ok) { failures = 0; return; }
    // A wrong path answers the same every time: replaced now, with the field to fix, not after failureThreshold periods.
    const wrongPath = probeClientError(probe, (result as { status?: number }).status, 'livenessProbe');
    if (wrongPath) { end(); t.failed(failures + 1, `${wrongPath.message}; ${wrongPath.hint}`); return; }
    failures++;
    if (failures < probe.failureThreshold) return;
    end();
    t.failed(failures, result.why);
  };
  const first = setTimeout(() => {
    if (life.signal.aborted) return;
    timer = setInterval(() => { void check(); }, probe.periodSeconds * 1000);
    timer.unref();
    void check();
  }, probe.initialDelaySeconds * 1000);
  first.unref();
  void handle.exited.then(end);
}
