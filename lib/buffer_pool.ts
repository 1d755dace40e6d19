/**
 * A fixed budget of equal, reusable byte buffers. Transfers take one per chunk only while data
 * moves and give it back when the chunk is written, so idle or stalled connections hold none,
 * and a flood of stalled transfers cannot make the server allocate more than the budget.
 *
 * @example
 * ```ts
 * const pool = new BufferPool(1 << 20, 64);
 * const buf = pool.acquire();
 * if (buf !== null) pool.release(buf);
 * ```
 */
export class BufferPool {
  #size: number;
  #max: number;
  #free: Uint8Array[] = [];
  #out = new WeakSet<Uint8Array>();
  #created = 0;
  #inUse = 0;

  /** A pool of at most `max` buffers of `size` bytes each, created on first use. */
  constructor(size: number, max: number) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`Invalid size ${size}`);
    if (!Number.isSafeInteger(max) || max < 0) throw new RangeError(`Invalid count ${max}`);
    this.#size = size;
    this.#max = max;
  }

  /** Bytes per buffer. */
  get bufferBytes(): number {
    return this.#size;
  }

  /** Buffers handed out now. */
  get inUse(): number {
    return this.#inUse;
  }

  /** A buffer, or null when the whole budget is in use. */
  acquire(): Uint8Array | null {
    let buf = this.#free.pop();
    if (buf === undefined) {
      if (this.#created >= this.#max) return null;
      buf = new Uint8Array(this.#size);
      this.#created++;
    }
    this.#out.add(buf);
    this.#inUse++;
    return buf;
  }

  /** Whether `buf` came from this pool and is handed out. */
  owns(buf: Uint8Array): boolean {
    return this.#out.has(buf);
  }

  /** Gives a buffer back; buffers not from this pool, or given back twice, are ignored. */
  release(buf: Uint8Array): void {
    if (!this.#out.delete(buf)) return;
    this.#inUse--;
    this.#free.push(buf);
  }
}
