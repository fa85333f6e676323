/** A FIFO over an array with a moving head: O(1) push, shift and indexed read, compacted as it drains. */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  last(): T | undefined {
    return this.head < this.items.length ? this.items[this.items.length - 1] : undefined;
  }

  /** The i-th item from the head (0 is the head), or undefined. */
  at(i: number): T | undefined {
    return i >= 0 && i < this.items.length - this.head ? this.items[this.head + i] : undefined;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    (this.items as (T | undefined)[])[this.head] = undefined; // the array lets go of it now, not at the next compaction
    this.head += 1;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  get size(): number {
    return this.items.length - this.head;
  }
}
