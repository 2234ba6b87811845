import type { WalEntry } from '@wal/codec';
import type { BatchOp, SyncMode, Wal } from '@wal/fs';

/** One issued operation, at the sequence the writer gave it. */
interface Issued {
  type: 'put' | 'delete';
  key: Uint8Array;
  value?: Uint8Array | undefined;
  /** First sequence of its record: a batch is whole or absent. */
  record: number;
  /** Its promise resolved: the bytes reached the operating system (they survive a kill). */
  resolved: boolean;
  /** Acknowledged as durable: it must survive any crash from now on. */
  acked: boolean;
  /** Recovery returned it and a reopen made it durable: it must stay. */
  recovered: boolean;
}

/**
 * What a crash state must keep. `'power loss'`: every op acknowledged as
 * durable (per sync mode) or recovered by an earlier reopen. `'kill'`: the
 * operating system kept its page cache, so also every op whose promise
 * resolved, in every mode.
 */
export type Fate = 'power loss' | 'kill';

/**
 * The oracle of the crash and fault loops: what was issued, in sequence
 * order, and what was acknowledged. A recovered log must be a prefix of it
 * that holds every acknowledged operation, ends on a record boundary and
 * invents nothing.
 */
export class History {
  #ops: Issued[] = [];
  readonly sync: SyncMode;
  // truncateThrough(s) may remove every sequence up to s.
  #latestStart = 0;
  /** Bugs seen while issuing (an acknowledged sequence reused, a wrong resolved value). */
  readonly violations: string[] = [];

  /**
   * `sync: 'always'` makes a resolved append durable; in `'interval'` and
   * `'none'` only a resolved sync(), rotate() or close() does (an interval
   * sync may have run, but nothing tells when).
   */
  constructor(sync: SyncMode = 'always') {
    this.sync = sync;
  }

  /** Operations issued and not given back. */
  get issued(): number {
    return this.#ops.length;
  }

  /** Operations a state reached by `fate` must keep (acknowledged, or resolved for a kill). */
  mustKeep(fate: Fate = 'power loss'): number {
    return this.#ops.filter((op) => op.acked || op.recovered || (fate === 'kill' && op.resolved))
      .length;
  }

  /**
   * Appends `ops` as one record through `wal` (with `put` or `delete` when
   * `as` says so and `ops` holds one op); resolves to its first sequence.
   */
  append(wal: Wal, ops: readonly BatchOp[], as: 'put' | 'delete' | 'batch'): Promise<number> {
    const first = wal.nextSequence;
    const op = ops[0] as BatchOp;
    const promise =
      as === 'put' && op.type === 'put'
        ? wal.put(op.key, op.value)
        : as === 'delete'
          ? wal.delete(op.key)
          : wal.batch(ops);
    // The writer assigns sequences synchronously; a rejected record gives
    // its sequences back, so everything from `first` on was never kept.
    if (wal.nextSequence === first) return promise;
    if (first < this.#ops.length) this.#forget(first);
    const issued = ops.map(
      (o): Issued => ({
        type: o.type,
        key: bytes(o.key),
        value: o.type === 'put' ? bytes(o.value) : undefined,
        record: first,
        resolved: false,
        acked: false,
        recovered: false,
      }),
    );
    this.#ops.push(...issued);
    return promise.then((sequence) => {
      if (sequence !== first) this.violations.push(`resolved ${sequence}, issued at ${first}`);
      if (this.#ops[first] !== issued[0]) {
        this.violations.push(`sequence ${first} was reused, then acknowledged`);
      }
      for (const i of issued) {
        i.resolved = true;
        if (this.sync === 'always') i.acked = true;
      }
      return sequence;
    });
  }

  /** After `truncateThrough(sequence)`: the log may now start as late as `sequence + 1`. */
  truncatedThrough(sequence: number): void {
    this.#latestStart = Math.max(this.#latestStart, sequence + 1);
  }

  /**
   * Checks recovered entries against the history, for a state reached by
   * `fate`. Returns the first violation of the invariant in words, or
   * undefined when there is none.
   */
  check(entries: readonly WalEntry[], fate: Fate = 'power loss'): string | undefined {
    const kept = (op: Issued) => op.acked || op.recovered || (fate === 'kill' && op.resolved);
    const through = this.#ops.findLastIndex(kept);
    const what = fate === 'kill' ? 'resolved' : 'acknowledged';
    if (entries.length === 0) {
      return through < this.#latestStart
        ? undefined
        : `${what} sequence ${through} lost: empty log`;
    }
    const first = (entries[0] as WalEntry).sequence;
    if (first > this.#latestStart) {
      return `expected the log to start at or before ${this.#latestStart}, found ${first}`;
    }
    if (this.#ops[first] && this.#ops[first].record !== first) {
      return `expected the log to start on a record boundary, found sequence ${first} inside one`;
    }
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as WalEntry;
      const expected = this.#ops[first + i];
      if (entry.sequence !== first + i) {
        return `expected sequence ${first + i}, found ${entry.sequence}: a gap or a reorder`;
      }
      if (!expected) return `found sequence ${entry.sequence}, never issued (invented)`;
      if (!same(entry, expected)) return `sequence ${entry.sequence} differs from what was issued`;
    }
    const end = first + entries.length;
    if (end <= through) return `${what} sequence ${through} lost (the log ends at ${end - 1})`;
    const next = this.#ops[end];
    if (next && next.record !== end) return `batch at ${next.record} recovered in part`;
    return undefined;
  }

  /**
   * After a reopen on recovered `entries`, with the writer now at
   * `nextSequence`: the entries are durable, and anything issued after them
   * is gone for good. Returns a violation in words, if any.
   */
  recovered(entries: readonly WalEntry[], nextSequence: number): string | undefined {
    const end = entries.length > 0 ? (entries.at(-1) as WalEntry).sequence + 1 : undefined;
    if (end !== undefined && nextSequence !== end) {
      return `expected the writer to continue at ${end} (recovery's end), found ${nextSequence}`;
    }
    if (nextSequence > this.#ops.length) {
      return `expected the writer to continue at most at ${this.#ops.length}, found ${nextSequence}`;
    }
    this.#ops.length = nextSequence;
    for (const op of this.#ops) op.recovered = true;
    return undefined;
  }

  /** A sync(), rotate() or close() started when the writer was at `end` resolved: all before it is durable. */
  durableBefore(end: number): void {
    for (let i = 0; i < Math.min(end, this.#ops.length); i++) (this.#ops[i] as Issued).acked = true;
  }

  /** A copy frozen at this instant: what had been issued and acknowledged by then. */
  clone(): History {
    const copy = new History(this.sync);
    copy.#ops = this.#ops.map((op) => ({ ...op }));
    copy.#latestStart = this.#latestStart;
    return copy;
  }

  #forget(from: number): void {
    // A live writer never gives back a sequence it resolved.
    const kept = this.#ops.slice(from).find((op) => op.resolved || op.acked || op.recovered);
    if (kept) this.violations.push(`sequence ${from}+ reused while acknowledged`);
    this.#ops.length = from;
  }
}

function bytes(value: Uint8Array | string): Uint8Array {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

function same(entry: WalEntry, op: Issued): boolean {
  if (entry.type !== op.type || !Buffer.from(entry.key).equals(op.key)) return false;
  if (op.type === 'delete') return entry.value === undefined;
  return entry.value !== undefined && Buffer.from(entry.value).equals(op.value as Uint8Array);
}
