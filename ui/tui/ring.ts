/** A fixed-capacity FIFO: pushing past capacity drops the oldest item in O(1). */
export class Ring<T> {
  private items: (T | undefined)[];
  private start = 0;
  private length = 0;

  constructor(private cap: number) {
    if (!(cap >= 1)) throw new RangeError(`ring capacity must be >= 1, got ${cap}`);
    this.items = new Array(cap);
  }

  get size(): number { return this.length; }
  get capacity(): number { return this.cap; }

  push(item: T): void {
    if (this.length < this.cap) {
      this.items[(this.start + this.length) % this.cap] = item;
      this.length++;
    } else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.cap;
    }
  }

  /** Item `i` counting from the oldest retained one. */
  at(i: number): T {
    return this.items[(this.start + i) % this.cap] as T;
  }

  /** Changes the capacity, keeping the newest items. */
  resize(cap: number): void {
    if (cap === this.cap) return;
    const keep = Math.min(this.length, cap);
    const next: (T | undefined)[] = new Array(cap);
    for (let i = 0; i < keep; i++) next[i] = this.at(this.length - keep + i);
    this.items = next;
    this.cap = cap;
    this.start = 0;
    this.length = keep;
  }
}

/**
 * One ring per service sharing a budget, so one chatty service cannot push a quiet one's lines
 * out of its own view: each holds at most `maxPerService` and at least `minPerService`, and
 * together about `budget` (the TUI's LogBuffer and the web dashboard's log memory both use it).
 */
export class ServiceRings<T> {
  private readonly rings = new Map<string, Ring<T>>();
  private perService: number;

  constructor(private readonly maxPerService: number, private readonly budget: number, private readonly minPerService: number) {
    this.perService = maxPerService;
  }

  get(name: string): Ring<T> | undefined {
    return this.rings.get(name);
  }

  /** The service's ring, made (and every ring's share adjusted) on its first line. */
  of(name: string): Ring<T> {
    let ring = this.rings.get(name);
    if (!ring) {
      ring = new Ring(this.perService);
      this.rings.set(name, ring);
      this.rebalance();
    }
    return ring;
  }

  /** Forgets a service's ring; true when it had one. */
  delete(name: string): boolean {
    if (!this.rings.delete(name)) return false;
    this.rebalance();
    return true;
  }

  names(): string[] { return [...this.rings.keys()]; }
  values(): IterableIterator<Ring<T>> { return this.rings.values(); }

  private rebalance(): void {
    const fair = Math.floor(this.budget / Math.max(1, this.rings.size));
    const next = Math.max(this.minPerService, Math.min(this.maxPerService, fair));
    if (next === this.perService) return;
    this.perService = next;
    for (const ring of this.rings.values()) ring.resize(next);
  }
}
