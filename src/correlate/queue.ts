/** A FIFO over an array with a moving head: O(1) push and shift, compacted as it drains. */
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

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
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

/** Removes `item` from the bucket under `key` (usually its first element), dropping empty buckets. */
export function removeFromBucket<T>(index: Map<number, T[]>, key: number, item: T): void {
  const bucket = index.get(key);
  if (!bucket) return;
  if (bucket[0] === item) bucket.shift();
  else {
    const at = bucket.indexOf(item);
    if (at >= 0) bucket.splice(at, 1);
  }
  if (bucket.length === 0) index.delete(key);
}

export function addToBucket<T>(index: Map<number, T[]>, key: number, item: T): void {
  const bucket = index.get(key);
  if (bucket) bucket.push(item);
  else index.set(key, [item]);
}
