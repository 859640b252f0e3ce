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
