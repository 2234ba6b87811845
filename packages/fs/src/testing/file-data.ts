const EMPTY = new Uint8Array(0);

/**
 * One file's bytes, in two layers: what the process sees now (the page
 * cache) and what is on stable storage (as of the last successful fdatasync).
 */
export class FileData {
  #bytes: Uint8Array = EMPTY;
  #size = 0;
  #durable: Uint8Array = EMPTY;
  // Lowest offset changed since the last sync: below it, both layers agree.
  #low = Number.POSITIVE_INFINITY;
  // Where unsynced writes ended: the cut points a crash most likely leaves.
  #marks: number[] = [];
  // Ranges a failed fdatasync dropped. The kernel marked those pages clean,
  // so a later fdatasync that succeeds does not write them (fsyncgate).
  #lost: [number, number][] = [];
  // What the process saw just before the last truncate since the last sync
  // that cut unsynced bytes: writeback may have put all of it on disk
  // before the truncate reached it.
  #beforeCut: Uint8Array | null = null;

  /** A file whose bytes are all durable (a state after a crash). */
  static durable(bytes: Uint8Array): FileData {
    const file = new FileData();
    // Plain Uint8Array copies. A Buffer kept here would stay a Buffer (as
    // would Uint8Array.prototype.slice of one, by its species), and a
    // Buffer's slice() is a view: clone() and sync() would then share bytes
    // with the copy they make.
    file.#bytes = new Uint8Array(bytes);
    file.#size = bytes.length;
    file.#durable = new Uint8Array(bytes);
    return file;
  }

  /** An independent copy: both layers, and what is pending between them. */
  clone(): FileData {
    const copy = new FileData();
    copy.#bytes = this.#bytes.slice();
    copy.#size = this.#size;
    copy.#durable = this.#durable.slice();
    copy.#low = this.#low;
    copy.#marks = [...this.#marks];
    copy.#lost = this.#lost.map(([s, e]): [number, number] => [s, e]);
    copy.#beforeCut = this.#beforeCut?.slice() ?? null;
    return copy;
  }

  get size(): number {
    return this.#size;
  }

  /** The bytes the process sees. A view: copy it before the file changes. */
  get current(): Uint8Array {
    return this.#bytes.subarray(0, this.#size);
  }

  /** The bytes on stable storage. */
  get durableBytes(): Uint8Array {
    return this.#durable;
  }

  /** The file as the process saw it before the last unsynced truncate that cut written bytes, or null. */
  get beforeCut(): Uint8Array | null {
    return this.#beforeCut;
  }

  /** Length of the prefix no crash can change. */
  get syncedPrefix(): number {
    return Math.min(this.#low, this.#size, this.#durable.length);
  }

  /** True when a crash could leave something other than what the process sees. */
  get dirty(): boolean {
    return this.#low !== Number.POSITIVE_INFINITY || this.#durable.length !== this.#size;
  }

  /** Ends of the writes since the last sync, beyond the synced prefix, ascending. */
  get writeEnds(): number[] {
    const from = this.syncedPrefix;
    return [...new Set(this.#marks)]
      .filter((m) => m > from && m < this.#size)
      .sort((a, b) => a - b);
  }

  read(target: Uint8Array, offset: number, length: number, position: number): number {
    const n = Math.max(0, Math.min(length, this.#size - position));
    target.set(this.#bytes.subarray(position, position + n), offset);
    return n;
  }

  write(source: Uint8Array, position: number): void {
    const end = position + source.length;
    this.#ensure(end);
    // Writing what stable storage already holds, over bytes the process
    // sees the same: no crash during it can leave anything else.
    const settled = end <= this.#size && this.#holds(source, position);
    this.#bytes.set(source, position);
    if (end > this.#size) this.#size = end;
    if (!settled) {
      this.#low = Math.min(this.#low, position);
      this.#marks.push(end);
    }
    // Rewritten pages are dirty again, so a later sync writes them.
    this.#lost = this.#lost.flatMap(([s, e]) => {
      const kept: [number, number][] = [];
      if (s < position) kept.push([s, Math.min(e, position)]);
      if (e > end) kept.push([Math.max(s, end), e]);
      return kept;
    });
  }

  truncate(length: number): void {
    if (length < this.#size && this.#low < this.#size) this.#beforeCut = this.current.slice();
    if (length > this.#size) this.#ensure(length);
    else this.#bytes.fill(0, length, this.#size);
    this.#size = length;
    this.#low = Math.min(this.#low, length);
    this.#marks.push(length);
    this.#lost = this.#lost
      .map(([s, e]): [number, number] => [s, Math.min(e, length)])
      .filter(([s, e]) => s < e);
  }

  /**
   * Makes the bytes durable: those the process sees now, or `covered`, what
   * it saw when an fdatasync still in flight was called (see
   * {@link FileData.snapshot}). Writes made since then stay unsynced.
   */
  sync(covered?: Uint8Array): void {
    const next = (covered ?? this.current).slice();
    for (const [start, end] of this.#lost) {
      for (let i = start; i < Math.min(end, next.length); i++) next[i] = this.#durable[i] ?? 0;
    }
    this.#durable = next;
    // Durable now is at least as new as any state before that truncate.
    this.#beforeCut = null;
    const lost = Math.min(Number.POSITIVE_INFINITY, ...this.#lost.map(([start]) => start));
    if (covered === undefined) {
      this.#low = lost;
      this.#marks = [];
      return;
    }
    // Below the first byte where the layers differ, no crash can change anything.
    const current = this.current;
    let low = Math.min(current.length, next.length);
    for (let i = 0; i < low; i++) {
      if (current[i] !== next[i]) {
        low = i;
        break;
      }
    }
    this.#low = Math.min(lost, low === current.length && low === next.length ? lost : low);
    this.#marks = this.#marks.filter((m) => m > this.#low);
  }

  /**
   * Makes `bytes`, written at `position` on an O_DSYNC handle, durable, and
   * the file's size as far as they reach; the rest of the file stays as it
   * was (such a write syncs its own range, not the whole file).
   */
  syncRange(position: number, bytes: Uint8Array): void {
    const end = position + bytes.length;
    const next = new Uint8Array(Math.max(this.#durable.length, end));
    next.set(this.#durable);
    next.set(bytes, position);
    this.#durable = next;
    const current = this.current;
    const common = Math.min(current.length, next.length);
    let low = current.length === next.length ? Number.POSITIVE_INFINITY : common;
    for (let i = 0; i < common; i++) {
      if (current[i] !== next[i]) {
        low = i;
        break;
      }
    }
    for (const [start] of this.#lost) low = Math.min(low, start);
    this.#low = low;
    this.#marks = this.#marks.filter((m) => m > low);
    if (!this.dirty) this.#beforeCut = null;
  }

  /** What the process sees now, for an fdatasync that completes later. */
  snapshot(): Uint8Array {
    return this.current.slice();
  }

  /**
   * The kernel evicts pages a failed writeback marked clean: reading them
   * then gives what is on disk. Whatever the process rewrote since is dirty
   * again and stays.
   */
  evictLost(): void {
    for (const [start, end] of this.#lost) {
      for (let i = start; i < Math.min(end, this.#size); i++)
        this.#bytes[i] = this.#durable[i] ?? 0;
    }
    this.#lost = [];
  }

  /** Records a failed fdatasync: what was unsynced is lost to later syncs. */
  failSync(): void {
    if (this.dirty) this.#lost.push([this.syncedPrefix, this.#size]);
  }

  /** Records the failed sync of an O_DSYNC write of `start..end`: that range is lost to later syncs. */
  failSyncRange(start: number, end: number): void {
    const from = Math.max(start, this.syncedPrefix);
    const to = Math.min(end, this.#size);
    if (from < to) this.#lost.push([from, to]);
  }

  // True when both layers hold `source` at `position` already.
  #holds(source: Uint8Array, position: number): boolean {
    if (position + source.length > this.#durable.length) return false;
    for (let i = 0; i < source.length; i++) {
      const b = source[i];
      if (this.#durable[position + i] !== b || this.#bytes[position + i] !== b) return false;
    }
    return true;
  }

  #ensure(length: number): void {
    if (length <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(length, this.#bytes.length * 2, 256));
    grown.set(this.#bytes.subarray(0, this.#size));
    this.#bytes = grown;
  }
}
