/** File watching: which services does a change concern, and when is a burst of changes over. */
export { createWatcher, nativeBackend } from './watcher.js';
export { ContentLedger, printOf, MAX_HASHED_BYTES, MAX_SCANNED_PATHS, type Printed, type ScanRoot } from './contents.js';
export { isEditorTemp } from './editor-temp.js';
export { ownOutputs, isOwnOutput, type OwnOutputs } from './own-output.js';
export type { Ignorer, WatchBatch, Watcher, WatcherOptions, WatchTarget, WatchTargetSpec } from './types.js';
export { Coalescer, realClock, DEFAULT_MAX_WAIT_MS, DEFAULT_QUIET_MS, type Clock, type CoalescedBatch, type CoalescerOptions } from './coalesce.js';
export { mapChangesToTargets, indexTargets } from './targets.js';
export { ProjectIgnores, ALWAYS_IGNORED_DIRS, type ProjectIgnoreOptions } from './ignore.js';
export { GitignoreRules, rebaseGitignore } from './gitignore.js';
export { DockerignoreMatcher } from './dockerignore.js';
export { translateWatchError, WATCH_LIMIT_CODE, WATCH_INSTANCES_CODE, WATCH_FAILED_CODE } from './errors.js';
