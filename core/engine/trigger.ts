/**
 * Why an update ran, in words, for every place that says it (the plain log's update summary, the
 * TUI's details, the process runtime's restart line): one wording, so a reader who learns it in
 * one place reads it everywhere. Pure functions.
 */
import type { UpdateRecord, UpdateStep } from '../store/state.js';

export interface TriggerLike {
  reason: string;
  files: string[];
}

/** `src/a.ts`, `src/a.ts, src/b.ts`, `src/a.ts, src/b.ts, src/c.ts and 4 more`. */
export function fileList(files: string[], shown = 3): string {
  const head = files.slice(0, shown).join(', ');
  return files.length > shown ? `${head} and ${files.length - shown} more` : head;
}

/**
 * The cause, as a phrase that follows "restarting" or "done in 1.2 s": `after src/server.ts
 * changed`... with its preposition, since "at start-up" and "after a manual deploy" take different ones.
 */
export function triggerPhrase(trigger: TriggerLike): string {
  const files = trigger.files.length ? fileList(trigger.files) : '';
  switch (trigger.reason) {
    case 'initial': return 'at start-up';
    case 'file-change': return files ? `after ${files} changed` : 'after a file change';
    case 'manual': return files ? `after a manual deploy (changed: ${files})` : 'after a manual deploy';
    case 'config-change': return `after a Devfile edit${files ? ` (${files})` : ''}`;
    case 'crash': return 'after a crash';
    case 'debug': return 'to attach the debugger';
    case 'debug off': return 'to detach the debugger';
    case 'image-missing': return 'because its image had gone';
    default: return `after ${trigger.reason}${files ? ` (${files})` : ''}`;
  }
}

/** Seconds with 10 ms resolution: `1.32 s`. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** `build 0.81 s, deploy 0.40 s, healthy 0.11 s`. */
export function stepsText(steps: UpdateStep[]): string {
  return steps.map((s) => `${s.name} ${seconds(s.ms)}`).join(', ');
}

/**
 * One update in one line: `update #3 done in 1.32 s (build 0.81 s, deploy 0.40 s, healthy 0.11 s)
 * after src/server.ts changed`. A failure names its step; its error is said where it happened.
 */
export function updateSummary(u: UpdateRecord): string {
  const verb = u.outcome === 'done' ? 'done in' : u.outcome === 'failed' ? `failed${u.failedStep ? ` at ${u.failedStep}` : ''} in` : 'cancelled after';
  const steps = u.steps.length ? ` (${u.live ? 'live update: ' : ''}${stepsText(u.steps)})` : '';
  return `update #${u.id} ${verb} ${seconds(u.totalMs)}${steps} ${triggerPhrase(u.trigger)}`;
}
