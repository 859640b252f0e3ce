/** What a reporter subscribes to: the engine's store, nothing more. */
import type { Action } from '../../core/store/actions.js';
import type { EngineState } from '../../core/store/state.js';

export interface StateSource {
  getState(): EngineState;
  subscribe(listener: (state: EngineState, action: Action, previous: EngineState) => void): () => void;
}

export interface Reporter {
  /** Flushes and unsubscribes. */
  close(): void;
}
