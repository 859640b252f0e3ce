/** Actions: `POST /api/actions/<name>` with the session token; the answer goes to the toast. */
import { API, TOKEN_HEADER, type ActionRequest, type ActionResponse } from '../protocol.js';

export async function postAction(token: string, req: ActionRequest): Promise<{ ok: boolean; text: string }> {
  let res: Response;
  try {
    res = await fetch(`${API.actions}/${req.name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [TOKEN_HEADER]: token },
      body: JSON.stringify(req),
    });
  } catch (err) {
    return { ok: false, text: `${req.name} ${req.service}: devloop did not answer (${err instanceof Error ? err.message : String(err)}); is devloop up still running?` };
  }
  let body: ActionResponse | undefined;
  try { body = (await res.json()) as ActionResponse; } catch { body = undefined; }
  if (res.ok && body && 'ok' in body) return { ok: true, text: body.message };
  const why = body && 'error' in body ? body.error : `HTTP ${res.status} ${res.statusText}`;
  return { ok: false, text: `${req.name} ${req.service} failed: ${why}` };
}

/** The status line: the last action's answer, cleared after a while. */
export class Toast {
  readonly el: HTMLElement;
  private timer: number | undefined;

  constructor() {
    this.el = document.createElement('div');
    this.el.id = 'toast';
    this.el.setAttribute('role', 'status');
  }

  show(text: string, ok: boolean): void {
    this.el.textContent = text;
    this.el.className = ok ? 'show ok' : 'show err';
    if (this.timer !== undefined) clearTimeout(this.timer);
    // The text stays (tests and screen readers read it); only the highlight fades.
    this.timer = window.setTimeout(() => { this.el.className = ok ? 'ok' : 'err'; }, ok ? 4000 : 10000);
  }
}
