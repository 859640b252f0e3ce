/**
 * A Chrome DevTools Protocol session with a Node inspector: numbered requests over one
 * WebSocket, their replies, and events. `ws` rather than a hand-written client: Node 20 has no
 * stable global WebSocket, and framing, masking and fragmented messages are easy to get subtly wrong.
 */
import WebSocket from 'ws';

type Listener = (params: any) => void;

export class CdpSession {
  private nextId = 1;
  private readonly pending = new Map<number, { method: string; resolve(v: any): void; reject(e: Error): void }>();
  private readonly listeners = new Map<string, Listener[]>();
  private closedBecause?: Error;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => this.receive(String(data)));
    socket.on('close', () => this.fail(new Error('the inspector closed the connection (did the service restart or exit?)')));
    socket.on('error', (err) => this.fail(err));
  }

  /** Opens `url` (a target's webSocketDebuggerUrl); rejects after `timeoutMs` without an answer. */
  static connect(url: string, timeoutMs: number): Promise<CdpSession> {
    return new Promise((resolve, reject) => {
      // No per-message limit: a heap snapshot chunk or a long profile is one large message.
      const socket = new WebSocket(url, { handshakeTimeout: timeoutMs, maxPayload: 0, perMessageDeflate: false });
      socket.once('open', () => { socket.removeListener('error', reject); resolve(new CdpSession(socket)); });
      socket.once('error', reject);
    });
  }

  /** Calls a CDP method; rejects with the inspector's error message, or when the connection drops. */
  send<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    if (this.closedBecause) return Promise.reject(this.closedBecause);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { method, resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params }), (err) => { if (err) this.fail(err); });
    });
  }

  on(event: string, listener: Listener): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
  }

  close(): void {
    this.socket.close();
  }

  private receive(text: string): void {
    let msg: { id?: number; method?: string; params?: unknown; result?: unknown; error?: { message: string } };
    try { msg = JSON.parse(text); } catch { return; }
    if (msg.id !== undefined) {
      const call = this.pending.get(msg.id);
      if (!call) return;
      this.pending.delete(msg.id);
      if (msg.error) call.reject(new Error(`${call.method}: ${msg.error.message}`));
      else call.resolve(msg.result);
    } else if (msg.method) {
      for (const l of this.listeners.get(msg.method) ?? []) l(msg.params);
    }
  }

  private fail(err: Error): void {
    this.closedBecause ??= err;
    for (const call of this.pending.values()) call.reject(new Error(`${call.method}: ${err.message}`));
    this.pending.clear();
  }
}
