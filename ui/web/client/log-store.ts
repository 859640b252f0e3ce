/**
 * The page's log memory, bounded exactly as the TUI's LogBuffer (ui/tui/log-buffer.ts): one
 * interleaved ring of 5000 lines for "all services", and one ring per service sharing 20,000
 * lines, each at most 1000 and at least 100. It keeps the server's `seq` (the TUI's buffer
 * numbers lines itself; here the server already split and numbered them), so a row's data-seq
 * names the same line on every connection.
 */
import type { WebLogLine } from '../protocol.js';
import { cleanLine } from '../../tui/log-buffer.js';
import { Ring, ServiceRings } from '../../tui/ring.js';

const MAX_LINES = 5000;
const MAX_PER_SERVICE = 1000;
const SERVICE_BUDGET = 20_000;
const MIN_PER_SERVICE = 100;

export class LogStore {
  all = new Ring<WebLogLine>(MAX_LINES);
  private services = new ServiceRings<WebLogLine>(MAX_PER_SERVICE, SERVICE_BUDGET, MIN_PER_SERVICE);
  /** Bumped on every change, so views know when to recompute. */
  version = 0;

  push(line: WebLogLine): void {
    const entry: WebLogLine = { ...line, text: cleanLine(line.text) };
    this.all.push(entry);
    if (entry.service) this.services.of(entry.service).push(entry);
    this.version++;
  }

  service(name: string): Ring<WebLogLine> | undefined {
    return this.services.get(name);
  }

  names(): string[] {
    return this.services.names();
  }

  drop(name: string): void {
    if (this.services.delete(name)) this.version++;
  }

  clear(): void {
    this.all = new Ring(MAX_LINES);
    this.services = new ServiceRings(MAX_PER_SERVICE, SERVICE_BUDGET, MIN_PER_SERVICE);
    this.version++;
  }
}
