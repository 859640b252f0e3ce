/** The store: holds state, runs the reducer, tells subscribers about every action. */
import type { Action } from './actions.js';
import { reduce } from './reducer.js';
import { initialState, type EngineState } from './state.js';

export type Listener = (state: EngineState, action: Action, previous: EngineState) => void;

export interface Store {
  getState(): EngineState;
  dispatch(action: Action): void;
  /** Returns an unsubscribe function. Listeners run synchronously after each action. */
  subscribe(listener: Listener): () => void;
}

export function createStore(state: EngineState = initialState()): Store {
  const listeners = new Set<Listener>();
  let dispatching = false;
  const queue: Action[] = [];
  return {
    getState: () => state,
    dispatch(action) {
      // A listener that dispatches must not see actions out of order: queue and drain.
      queue.push(action);
      if (dispatching) return;
      dispatching = true;
      try {
        while (queue.length) {
          const next = queue.shift()!;
          const previous = state;
          state = reduce(state, next);
          for (const l of listeners) {
            try { l(state, next, previous); } catch (err) { process.emitWarning(`store listener threw: ${String(err)}`); }
          }
        }
      } finally {
        dispatching = false;
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
