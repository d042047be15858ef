/**
 * A growable FIFO ring buffer: O(1) push and shift without Array.prototype.shift's copying, and
 * index access for the batching policy's look-ahead.
 */
export class RingBuffer<T> {
  private items: (T | undefined)[];
  private head = 0;
  private size = 0;

  constructor(initialCapacity = 16) {
    this.items = new Array<T | undefined>(Math.max(2, initialCapacity));
  }

  get length(): number {
    return this.size;
  }

  push(item: T): void {
    if (this.size === this.items.length) this.grow();
    this.items[(this.head + this.size) % this.items.length] = item;
    this.size++;
  }

  /** The i-th item from the head (0 = oldest). */
  at(index: number): T {
    return this.items[(this.head + index) % this.items.length]!;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.size--;
    return item;
  }

  peek(): T | undefined {
    return this.size === 0 ? undefined : this.items[this.head];
  }

  /**
   * Removes, in place and in order, every item `remove` selects, handing each to `removed`; the
   * others keep their order. O(length): for sweeps, never on the per-request path.
   */
  removeWhere(remove: (item: T) => boolean, removed: (item: T) => void): void {
    const capacity = this.items.length;
    let kept = 0;
    for (let i = 0; i < this.size; i++) {
      const from = (this.head + i) % capacity;
      const item = this.items[from]!;
      if (remove(item)) {
        removed(item);
        continue;
      }
      this.items[(this.head + kept) % capacity] = item;
      kept++;
    }
    for (let i = kept; i < this.size; i++) this.items[(this.head + i) % capacity] = undefined;
    this.size = kept;
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.items.length * 2);
    for (let i = 0; i < this.size; i++) next[i] = this.items[(this.head + i) % this.items.length];
    this.items = next;
    this.head = 0;
  }
}
