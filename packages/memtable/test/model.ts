// A deliberately simple model of a Memtable: a Map keyed by hex, sorted on
// every read with Buffer.compare (unsigned bytes), and the size formula
// recomputed from scratch. It shares no code with the table.
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

export class Model {
  readonly held = new Map<string, ModelEntry>();
  lastSequence: number | null = null;

  put(key: Input, value: Input): void {
    const k = bytesOf(key);
    this.held.set(k.toString('hex'), { key: k, value: bytesOf(value) });
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

  /** Live entries with start <= key < end; `sorted` saves sorting again. */
  range(start?: Input, end?: Input, sorted = this.entries()): ModelEntry[] {
    const from = start === undefined ? undefined : bytesOf(start);
    const to = end === undefined ? undefined : bytesOf(end);
    return sorted.filter(
      (e) =>
        e.value !== undefined &&
        (from === undefined || Buffer.compare(e.key, from) >= 0) &&
        (to === undefined || Buffer.compare(e.key, to) < 0),
    );
  }

  /** The documented formula, over the entries held. */
  sizeBytes(): number {
    let total = 0;
    for (const { key, value } of this.held.values()) {
      total += key.length + (value?.length ?? 0) + ENTRY_OVERHEAD_BYTES;
    }
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
