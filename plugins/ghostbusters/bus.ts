/**
 * The message bus agents talk over. A kind (`finding.result`, `plan.result`, or whatever an agent
 * emits) maps to one payload type, so a caller that declares the map gets typed handlers.
 *
 * Delivery is synchronous and in subscription order; a handler that throws is reported through
 * `onHandlerError` and never reaches the publisher: one broken listener must not fail the agent
 * that published (nor the framework around it). `*` receives every message, for logs and metrics.
 */

export interface BusMessage<K extends string = string, P = unknown> {
  kind: K;
  /** The agent that published it, or `caller` for messages published from outside an agent. */
  from: string;
  payload: P;
  /** ms since the epoch. */
  at: number;
}

export type BusHandler<K extends string = string, P = unknown> = (payload: P, message: BusMessage<K, P>) => void;

/** Kind -> payload type. The default accepts any kind with an unknown payload. */
export type KindMap = Record<string, unknown>;

export class MessageBus<M extends KindMap = KindMap> {
  private readonly handlers = new Map<string, Set<BusHandler<any, any>>>();

  constructor(private readonly onHandlerError: (err: unknown, message: BusMessage) => void = () => {}) {}

  /** Subscribes to one kind (or `*` for all); returns the unsubscribe function. */
  on<K extends keyof M & string>(kind: K | '*', handler: BusHandler<K, M[K]>): () => void {
    let set = this.handlers.get(kind);
    if (!set) this.handlers.set(kind, (set = new Set()));
    set.add(handler);
    return () => { set.delete(handler); };
  }

  publish<K extends keyof M & string>(kind: K, payload: M[K], from = 'caller'): BusMessage<K, M[K]> {
    const message: BusMessage<K, M[K]> = { kind, from, payload, at: Date.now() };
    for (const key of [kind, '*']) {
      for (const handler of [...(this.handlers.get(key) ?? [])]) {
        try { handler(payload, message); } catch (err) { this.onHandlerError(err, message); }
      }
    }
    return message;
  }
}
