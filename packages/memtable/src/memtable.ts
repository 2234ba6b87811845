import {
  type BytesLike,
  describeValue,
  ErrorCode,
  isIndex,
  MAX_SEQUENCE,
  toBytes,
  type WalEntry,
  WalError,
} from '@wal/codec';
import { BTree } from './btree.js';
import { Cursor } from './cursor.js';
import { copyBytes, decodeKey, encodeKey, ownValue } from './keys.js';
import { type MemtableOptions, parseOptions } from './options.js';

/**
 * What `sizeBytes` counts for every entry on top of its key and value bytes,
 * so that `maxSizeBytes` bounds memory rather than payload. It is what an
 * entry costs besides its bytes on Node 20 (tree slots, the key string's
 * header, the value's Buffer object): measured 130 to 165 bytes for a
 * non-empty value, about 45 for a tombstone or an empty value, which are
 * counted the same for a simpler formula. Fixed, so `sizeBytes` is exact and
 * the same on every machine; changing it is a breaking change.
 */
export const ENTRY_OVERHEAD_BYTES = 160;

/** A stored value; `null` is a tombstone. */
type Stored = Uint8Array | null;

/** Package-internal: how `replay` hands over its staging table (see `Memtable[absorb]`). */
export const absorb = Symbol('Memtable.absorb');

/**
 * A sorted in-memory table of the latest value, or tombstone, for each key:
 * the state a write-ahead log protects, rebuilt by replaying the log.
 *
 * Keys and values are bytes. A string is taken as its UTF-8 encoding (as
 * `Buffer.from(string)` encodes it: a lone surrogate becomes U+FFFD). Keys
 * are ordered by unsigned byte comparison, like LevelDB's default comparator.
 *
 * The table copies every key and value it is given, so callers may reuse
 * their buffers. It is backed by a B+-tree: put, get, has and seeking a range
 * are O(log n); iteration walks the leaves in order.
 */
export class Memtable {
  /** The flush threshold; see {@link Memtable.shouldFlush}. */
  readonly maxSizeBytes: number;
  #tree = new BTree<Stored>();
  #sizeBytes = 0;
  #lastSequence: number | null;

  /** Throws `WAL_INVALID_OPTIONS` for bad options. */
  constructor(options?: MemtableOptions) {
    const resolved = parseOptions(options);
    this.maxSizeBytes = resolved.maxSizeBytes;
    this.#lastSequence = resolved.lastSequence;
  }

  /**
   * Stores `value` under `key`, replacing any value or tombstone. An empty
   * value is a value, not a delete. Does not change `lastSequence`: only
   * {@link Memtable.apply} knows a sequence number.
   */
  put(key: BytesLike, value: BytesLike): void {
    this.#set(encodeKey(key, 'key'), ownValue(value, 'value'));
  }

  /**
   * Replaces `key`'s value with a tombstone, also when the key is absent, so
   * that a flush of this table shadows older data for it. Does not change
   * `lastSequence`.
   */
  delete(key: BytesLike): void {
    this.#set(encodeKey(key, 'key'), null);
  }

  /**
   * The value stored under `key`; undefined when the key is absent or
   * deleted. The bytes returned are the table's own copy, not a new one: do
   * not modify them. The table never modifies them either; a later put stores
   * a new copy.
   */
  get(key: BytesLike): Uint8Array | undefined {
    return this.#tree.get(encodeKey(key, 'key')) ?? undefined;
  }

  /** True when `key` holds a value (not a tombstone). */
  has(key: BytesLike): boolean {
    return this.get(key) !== undefined;
  }

  /**
   * Applies one entry read from the log, as a put or a delete, and sets
   * `lastSequence` to its sequence. An entry at or below `lastSequence` was
   * applied before and is ignored, which makes replay idempotent.
   * Returns true when the entry was applied. A malformed entry throws
   * `WAL_INVALID_ARGUMENT`, also when it would be ignored.
   */
  apply(entry: WalEntry): boolean {
    if (typeof entry !== 'object' || entry === null) {
      throw invalid(`expected entry to be a WalEntry, found ${describeValue(entry)}`);
    }
    const { sequence, type } = entry;
    if (!isIndex(sequence, MAX_SEQUENCE)) {
      throw invalid(
        `expected entry.sequence to be an integer in [0, 2^53 - 1], found ${describeValue(sequence)}`,
      );
    }
    if (type !== 'put' && type !== 'delete') {
      throw invalid(`expected entry.type to be 'put' or 'delete', found ${describeValue(type)}`);
    }
    const key = encodeKey(entry.key, 'entry.key');
    const value = type === 'put' ? toBytes(entry.value, 'entry.value') : null;
    if (this.#lastSequence !== null && sequence <= this.#lastSequence) return false;
    // Copied only now: skipped entries cost no copy.
    this.#set(key, value === null ? null : copyBytes(value));
    this.#lastSequence = sequence;
    return true;
  }

  /** The sequence of the last entry applied with {@link Memtable.apply}; null before any. */
  get lastSequence(): number | null {
    return this.#lastSequence;
  }

  /** Keys held, tombstones included. */
  get size(): number {
    return this.#tree.size;
  }

  /**
   * The table's size by a fixed formula, exact at all times: the sum over
   * every key held, tombstones included, of
   * `key bytes + value bytes + ENTRY_OVERHEAD_BYTES` (a tombstone has 0 value bytes).
   */
  get sizeBytes(): number {
    return this.#sizeBytes;
  }

  /** True once `sizeBytes >= maxSizeBytes`: time to flush this table and start a new one. */
  shouldFlush(): boolean {
    return this.#sizeBytes >= this.maxSizeBytes;
  }

  /**
   * Every key in byte order with its value, or undefined for a tombstone:
   * what a flush writes. Keys are new Buffers; values are the table's own
   * bytes, as from {@link Memtable.get}. The iterator is live: keys added
   * ahead of it are seen, and none is returned twice or skipped.
   */
  entries(): IterableIterator<[key: Uint8Array, value: Uint8Array | undefined]> {
    return this.#scan(undefined, undefined, true) as IterableIterator<
      [Uint8Array, Uint8Array | undefined]
    >;
  }

  /**
   * The live (not deleted) keys `k` with `start <= k < end`, in byte order,
   * with their values. Either bound may be omitted. Live like `entries()`.
   * A bound of the wrong type throws `WAL_INVALID_ARGUMENT` at the call.
   */
  range(
    start?: BytesLike,
    end?: BytesLike,
  ): IterableIterator<[key: Uint8Array, value: Uint8Array]> {
    const from = start === undefined ? undefined : encodeKey(start, 'start');
    const to = end === undefined ? undefined : encodeKey(end, 'end');
    return this.#scan(from, to, false) as IterableIterator<[Uint8Array, Uint8Array]>;
  }

  /**
   * Removes every entry and resets `sizeBytes` to 0. Keeps `lastSequence`:
   * the entries cleared are expected to be flushed, so replaying the log
   * again must not bring them back.
   */
  clear(): void {
    this.#tree.clear();
    this.#sizeBytes = 0;
  }

  /**
   * Takes over everything `staging` holds (newer than this table's
   * contents) and its `lastSequence`, leaving `staging` empty. Bytes move,
   * they are not copied again; into an empty table the whole tree moves.
   */
  [absorb](staging: Memtable): void {
    if (this.#tree.size === 0) {
      this.#tree = staging.#tree;
      this.#sizeBytes = staging.#sizeBytes;
      staging.#tree = new BTree<Stored>();
      staging.#sizeBytes = 0;
    } else {
      const cursor = new Cursor(staging.#tree, undefined);
      while (cursor.next()) this.#set(cursor.key, cursor.value ?? null);
      staging.clear();
    }
    this.#lastSequence = staging.#lastSequence;
  }

  #set(key: string, value: Stored): void {
    const previous = this.#tree.set(key, value);
    const bytes = value === null ? 0 : value.length;
    if (previous === undefined) this.#sizeBytes += key.length + bytes + ENTRY_OVERHEAD_BYTES;
    else this.#sizeBytes += bytes - (previous === null ? 0 : previous.length);
  }

  *#scan(
    from: string | undefined,
    to: string | undefined,
    tombstones: boolean,
  ): Generator<[Uint8Array, Uint8Array | undefined]> {
    const cursor = new Cursor(this.#tree, from);
    while (cursor.next()) {
      if (to !== undefined && cursor.key >= to) return;
      const value = cursor.value ?? undefined;
      if (value !== undefined || tombstones) yield [decodeKey(cursor.key), value];
    }
  }
}

function invalid(message: string): WalError {
  return new WalError(ErrorCode.INVALID_ARGUMENT, message);
}
