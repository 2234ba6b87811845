// A deliberately simple model of a Memtable: a Map keyed by hex, sorted on
// every read with Buffer.compare (unsigned bytes), ranges as a filter over
// the sorted array, and the size formula recomputed from scratch. It shares
// no code with the table.
import { ENTRY_OVERHEAD_BYTES, type Memtable } from '@wal/memtable';
import { expect } from 'vitest';

export type Input = Uint8Array | string;

export interface ModelEntry {
  key: Buffer;
  value: Buffer | undefined;
}

/** Bytes of a key or value as the table should see them: strings as UTF-8. */
export const bytesOf = (input: Input): Buffer =>
  typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input);

/** Range options as the model reads them: abstract-level's. */
export interface ModelRange {
  gt?: Input | undefined;
  gte?: Input | undefined;
  lt?: Input | undefined;
  lte?: Input | undefined;
  reverse?: boolean | undefined;
  limit?: number | undefined;
}

export class Model {
  readonly held = new Map<string, ModelEntry>();
  lastSequence: number | null = null;
  /** Bytes of every value put since the last clear, overwritten ones included. */
  storedValueBytes = 0;

  put(key: Input, value: Input): void {
    const k = bytesOf(key);
    const v = bytesOf(value);
    this.held.set(k.toString('hex'), { key: k, value: v });
    this.storedValueBytes += v.length;
  }

  clear(): void {
    this.held.clear();
    this.storedValueBytes = 0;
  }

  delete(key: Input): void {
    const k = bytesOf(key);
    this.held.set(k.toString('hex'), { key: k, value: undefined });
  }

  get(key: Input): Buffer | undefined {
    return this.held.get(bytesOf(key).toString('hex'))?.value;
  }

  entries(): ModelEntry[] {
    return [...this.held.values()].sort((a, b) => Buffer.compare(a.key, b.key));
  }

  /** The live entries `options` select, in the order they come; `sorted` saves sorting again. */
  range(options: ModelRange = {}, sorted = this.entries()): ModelEntry[] {
    const { reverse = false, limit = -1 } = options;
    const [gt, gte, lt, lte] = [options.gt, options.gte, options.lt, options.lte].map((bound) =>
      bound === undefined ? undefined : bytesOf(bound),
    );
    const compare = (key: Buffer, bound: Buffer | undefined) =>
      bound === undefined ? 0 : Buffer.compare(key, bound);
    const selected = sorted.filter(
      (e) =>
        e.value !== undefined &&
        (gt === undefined || compare(e.key, gt) > 0) &&
        (gte === undefined || compare(e.key, gte) >= 0) &&
        (lt === undefined || compare(e.key, lt) < 0) &&
        (lte === undefined || compare(e.key, lte) <= 0),
    );
    if (reverse) selected.reverse();
    return limit === -1 ? selected : selected.slice(0, limit);
  }

  /** The documented formula: every key held, and every value stored since the last clear. */
  sizeBytes(): number {
    let total = this.storedValueBytes;
    for (const { key } of this.held.values()) total += key.length + ENTRY_OVERHEAD_BYTES;
    return total;
  }
}

/**
 * One line per entry, `key=value` in hex (`key=∅` for a tombstone): compared
 * as one string, which is fast for large tables and prints a readable diff.
 */
export const render = (pairs: Iterable<[Uint8Array, Uint8Array | undefined]>): string =>
  Array.from(pairs, ([k, v]) => `${hex(k)}=${v === undefined ? '∅' : hex(v)}\n`).join('');

export const renderModel = (entries: ModelEntry[]): string =>
  render(entries.map(({ key, value }) => [key, value]));

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Everything observable about the whole table equals the model. */
export function expectSameState(table: Memtable, model: Model): void {
  expect(table.size).toBe(model.held.size);
  expect(table.sizeBytes).toBe(model.sizeBytes());
  expect(table.lastSequence).toBe(model.lastSequence);
  expect(render(table.entries())).toBe(renderModel(model.entries()));
}
