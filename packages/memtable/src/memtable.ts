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
import { Arena } from './arena.js';
import { BTree } from './btree.js';
import { ALL, type Bounds, Cursor } from './cursor.js';
import { bytesKey, decodeKey, encodeKey } from './keys.js';
import { type MemtableOptions, parseOptions } from './options.js';
import { parseRange, type RangeOptions } from './range.js';

/**
 * What `sizeBytes` counts for every key on top of its key and value bytes,
 * so that `maxSizeBytes` bounds memory rather than payload: what a key costs
 * besides those bytes on Node 20 (its string, its tree slots and prefix
 * number, the length before its value in the arena). The bench measures it
 * (`memory:` rows): 62 bytes for 1M random 16-byte keys with 8 or 100-byte
 * values, against 147 for sorted-btree holding a Buffer per value. Fixed,
 * so `sizeBytes` is exact and the same on every machine; changing it is a
 * breaking change.
 */
export const ENTRY_OVERHEAD_BYTES = 64;

/** Where the tree points for a tombstone; a value's location in the arena is >= 0. */
const TOMBSTONE = -1;

/** Package-internal: how `replay` hands over its staging table (see `Memtable[absorb]`). */
export const absorb = Symbol('Memtable.absorb');

/** Package-internal: how `replay` applies a scan's batch (see `Memtable[applyScanned]`). */
export const applyScanned = Symbol('Memtable.applyScanned');

/** Package-internal: how `replay` sees whether a table changed while it read (see `Memtable[changes]`). */
export const changes = Symbol('Memtable.changes');

/**
 * A sorted in-memory table of the latest value, or tombstone, for each key:
 * the state a write-ahead log protects, rebuilt by replaying the log.
 *
 * Keys and values are bytes. A string is taken as its UTF-8 encoding (as
 * `Buffer.from(string)` encodes it: a lone surrogate becomes U+FFFD). Keys
 * are ordered by unsigned byte comparison, like LevelDB's default comparator.
 *
 * The table copies every key and value it is given, so callers may reuse
 * their buffers, and a log entry's views into a large read chunk are not
 * kept. Values are copied into an append-only arena of slabs (up to 1 MiB
 * each) shared by many values, not one allocation each; bytes in it are
 * never changed or reused, so a value read from the table stays as it was.
 * It is backed by a B+-tree: put, get, has and seeking a range are
 * O(log n); iteration walks the leaves in order.
 */
export class Memtable {
  /** The flush threshold; see {@link Memtable.shouldFlush}. */
  readonly maxSizeBytes: number;
  /** Each key's value location in `#arena`, or TOMBSTONE. Never replaced: open cursors hold it. */
  readonly #tree = new BTree<number>();
  #arena = new Arena();
  #sizeBytes = 0;
  #lastSequence: number | null;
  #logId: string | null;
  #incident: number | null;
  /** Bumped by every call that changes the table. */
  #changes = 0;

  /** Throws `WAL_INVALID_OPTIONS` for bad options. */
  constructor(options?: MemtableOptions) {
    const resolved = parseOptions(options);
    this.maxSizeBytes = resolved.maxSizeBytes;
    this.#lastSequence = resolved.lastSequence;
    this.#logId = resolved.logId;
    this.#incident = resolved.incident;
  }

  /**
   * Stores a copy of `value` under `key`, replacing any value or tombstone.
   * An empty value is a value, not a delete. Does not change `lastSequence`:
   * only {@link Memtable.apply} knows a sequence number.
   */
  put(key: BytesLike, value: BytesLike): void {
    this.#put(encodeKey(key, 'key'), toBytes(value, 'value'));
    this.#changes++;
  }

  /**
   * Replaces `key`'s value with a tombstone, also when the key is absent, so
   * that a flush of this table shadows older data for it. Does not change
   * `lastSequence`.
   */
  delete(key: BytesLike): void {
    const k = encodeKey(key, 'key');
    if (this.#tree.set(k, TOMBSTONE) === undefined) {
      this.#sizeBytes += k.length + ENTRY_OVERHEAD_BYTES;
    }
    this.#changes++;
  }

  /**
   * The value stored under `key`; undefined when the key is absent or
   * deleted. The bytes are a view of the table's own copy (a `Uint8Array`,
   * not a Buffer): do not modify them. The table never changes them either,
   * also not on a later put, delete or `clear()`, so a view stays valid for
   * as long as it is held. Holding it keeps the arena slab it sits in (up to
   * 1 MiB) in memory; copy it (`value.slice()`) to keep it long after the
   * table is cleared.
   */
  get(key: BytesLike): Uint8Array | undefined {
    const location = this.#tree.get(encodeKey(key, 'key'));
    return location === undefined || location === TOMBSTONE
      ? undefined
      : this.#arena.view(location);
  }

  /** True when `key` holds a value (not a tombstone). */
  has(key: BytesLike): boolean {
    const location = this.#tree.get(encodeKey(key, 'key'));
    return location !== undefined && location !== TOMBSTONE;
  }

  /**
   * Applies one entry read from the log, as a put or a delete, and sets
   * `lastSequence` to its sequence. An entry at or below `lastSequence` was
   * applied before and is ignored, which makes replay idempotent.
   * Returns true when the entry was applied. A malformed entry throws
   * `WAL_INVALID_ARGUMENT`, also when it would be ignored.
   *
   * The entry's key and value are copied (the value into the arena, with no
   * allocation of its own), so they may be views into a read chunk that is
   * reused or dropped once the call returns: the table keeps no reference to
   * the entry or its bytes.
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
    if (value === null) {
      if (this.#tree.set(key, TOMBSTONE) === undefined) {
        this.#sizeBytes += key.length + ENTRY_OVERHEAD_BYTES;
      }
    } else {
      this.#put(key, value);
    }
    this.#lastSequence = sequence;
    this.#changes++;
    return true;
  }

  /**
   * {@link Memtable.apply} for each entry of a batch from a log scan, whose
   * entries are well-formed by construction (the decoder made them): the
   * same effect, without checking each entry's shape.
   */
  [applyScanned](entries: readonly WalEntry[]): void {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as WalEntry;
      const { sequence } = entry;
      if (this.#lastSequence !== null && sequence <= this.#lastSequence) continue;
      const key = bytesKey(entry.key, 'entry.key');
      if (entry.type === 'put') this.#put(key, entry.value);
      else if (this.#tree.set(key, TOMBSTONE) === undefined) {
        this.#sizeBytes += key.length + ENTRY_OVERHEAD_BYTES;
      }
      this.#lastSequence = sequence;
    }
  }

  /** The sequence of the last entry applied with {@link Memtable.apply}; null before any. */
  get lastSequence(): number | null {
    return this.#lastSequence;
  }

  /**
   * The id of the log the table's entries came from: set by `replay` from
   * the log it read, or given with a checkpoint. Null until then, and after
   * a replay of a missing or empty log. For a checkpoint keep the writer's
   * `wal.logId` with `lastSequence` (it is known from `Wal.open` on, before
   * any entry), so a replay can tell the log apart from one a writer started
   * anew in the same directory.
   */
  get logId(): string | null {
    return this.#logId;
  }

  /**
   * The highest repair incident (`quarantine/<incident>/`, see `repair` in
   * @wal/recovery) of the log when `replay` last read it, or given with a
   * checkpoint; null for none. Keep it with `lastSequence` and `logId`: a
   * replay from the checkpoint then checks only the repairs made after it,
   * and refuses one that continued the log at or below `lastSequence`.
   */
  get incident(): number | null {
    return this.#incident;
  }

  /** Keys held, tombstones included. */
  get size(): number {
    return this.#tree.size;
  }

  /**
   * The table's size by a fixed formula, exact at all times: over every key
   * held, tombstones included, `key bytes + ENTRY_OVERHEAD_BYTES`, plus the
   * bytes of every value stored since the table was made or last cleared,
   * overwritten ones included. An overwritten value stays in the arena until
   * `clear()` (a value handed out by `get` may still be in use), so it still
   * takes memory and is still counted. Not counted: the unused tail of each
   * arena slab, left when the next value did not fit (less than that value,
   * and under 256 KiB).
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
   * what a flush writes. Keys are new Buffers; values are views of the
   * table's own bytes, as from {@link Memtable.get}. The iterator is live:
   * keys added ahead of it are seen, and none is returned twice or skipped.
   */
  entries(): IterableIterator<[key: Uint8Array, value: Uint8Array | undefined]> {
    return this.#scan(ALL, Number.POSITIVE_INFINITY, true) as IterableIterator<
      [Uint8Array, Uint8Array | undefined]
    >;
  }

  /**
   * The live (not deleted) keys within `options`' bounds (`gt`/`gte`,
   * `lt`/`lte`, as abstract-level's iterators take them), in byte order or,
   * with `reverse`, from the upper bound down, with their values; at most
   * `limit` of them. No options: every live key. Keys and values as from
   * {@link Memtable.entries}, and live like it. Options are checked at the
   * call, before any work: bad ones throw `WAL_INVALID_OPTIONS`.
   */
  range(options?: RangeOptions): IterableIterator<[key: Uint8Array, value: Uint8Array]> {
    const range = parseRange(options);
    return this.#scan(range, range.limit, false) as IterableIterator<[Uint8Array, Uint8Array]>;
  }

  /**
   * Removes every entry and resets `sizeBytes` to 0. Keeps `lastSequence`:
   * the entries cleared are expected to be flushed, so replaying the log
   * again must not bring them back. The arena is let go, not reused, so
   * values read before stay valid.
   */
  clear(): void {
    this.#changes++;
    this.#tree.clear();
    this.#arena = new Arena();
    this.#sizeBytes = 0;
  }

  /** How many calls have changed the table since it was made. */
  get [changes](): number {
    return this.#changes;
  }

  /**
   * Takes over everything `staging` holds (newer than this table's
   * contents) and its `lastSequence`, leaving `staging` empty, and records
   * `logId` as the log they came from and `incident` as its last repair
   * seen. Bytes move,
   * they are not copied again: into an empty table staging's tree nodes and
   * arena move (into this table's own tree object, which open iterators
   * hold); otherwise this arena adopts staging's slabs and each key is
   * inserted with its value's new location.
   */
  [absorb](staging: Memtable, logId: string | null, incident: number | null): void {
    this.#changes++;
    this.#logId = logId;
    this.#incident = incident;
    if (this.#tree.size === 0) {
      this.#tree.takeFrom(staging.#tree);
      this.#arena = staging.#arena;
      this.#sizeBytes = staging.#sizeBytes;
      staging.#arena = new Arena();
      staging.#sizeBytes = 0;
    } else {
      const shift = this.#arena.adopt(staging.#arena);
      // staging's sizeBytes less its keys' share is the bytes of the values it stored.
      let valueBytes = staging.#sizeBytes;
      const cursor = new Cursor(staging.#tree);
      while (cursor.next()) {
        const { key, value } = cursor as { key: string; value: number };
        const keyBytes = key.length + ENTRY_OVERHEAD_BYTES;
        valueBytes -= keyBytes;
        const location = value === TOMBSTONE ? TOMBSTONE : value + shift;
        if (this.#tree.set(key, location) === undefined) this.#sizeBytes += keyBytes;
      }
      this.#sizeBytes += valueBytes;
      staging.clear();
    }
    this.#lastSequence = staging.#lastSequence;
  }

  /** Stores a copy of `value` under `key`. */
  #put(key: string, value: Uint8Array): void {
    const previous = this.#tree.set(key, this.#arena.append(value));
    this.#sizeBytes +=
      previous === undefined ? key.length + value.length + ENTRY_OVERHEAD_BYTES : value.length;
  }

  *#scan(
    bounds: Bounds,
    limit: number,
    tombstones: boolean,
  ): Generator<[Uint8Array, Uint8Array | undefined]> {
    const cursor = new Cursor(this.#tree, bounds);
    let left = limit;
    while (left > 0 && cursor.next()) {
      const location = cursor.value as number;
      if (location !== TOMBSTONE) {
        left--;
        yield [decodeKey(cursor.key), this.#arena.view(location)];
      } else if (tombstones) {
        yield [decodeKey(cursor.key), undefined];
      }
    }
  }
}

function invalid(message: string): WalError {
  return new WalError(ErrorCode.INVALID_ARGUMENT, message);
}
