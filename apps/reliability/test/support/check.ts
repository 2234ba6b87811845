import type { WalEntry } from '@wal/codec';
import { Wal, type WalOptions } from '@wal/fs';
import type { SimFs } from '@wal/fs/testing';
import type { History } from './history.js';
import { Memtable, recover, replay } from './recovery.js';
import { SMALL_SEGMENTS } from './workload.js';

export const LOG_DIR = '/db';

/** A SimFs holding an empty, durable log directory (as if made by an earlier run). */
export function freshFs(fs: SimFs): SimFs {
  fs.mkdirp(LOG_DIR);
  fs.syncAll();
  return fs;
}

export function walOptions(fs: SimFs, extra: Partial<WalOptions> = {}): WalOptions {
  return { dir: LOG_DIR, fs, sync: 'always', maxSegmentBytes: SMALL_SEGMENTS, ...extra };
}

/** A violation of the crash invariant, in words. */
export class InvariantError extends Error {}

/** Every entry recovery returns in `tolerate-tail` mode, or an InvariantError saying why none. */
export async function recoverEntries(fs: SimFs): Promise<WalEntry[]> {
  try {
    return (await recover(LOG_DIR, { fs, mode: 'tolerate-tail' })).entries;
  } catch (error) {
    throw new InvariantError(`recovery failed: ${describeError(error)}`);
  }
}

/**
 * The invariant after a crash (or a fault): recovery succeeds and returns a
 * prefix of the history holding every acknowledged op, and replay into a
 * Memtable gives the table those entries make; `Wal.open` succeeds,
 * cuts nothing recovery returned, and continues where recovery ended.
 * Returns the reopened writer; throws InvariantError on a violation.
 */
export async function reopenAndCheck(
  fs: SimFs,
  history: History,
  extra: Partial<WalOptions> = {},
): Promise<Wal> {
  const before = await recoverEntries(fs);
  const violation = history.check(before) ?? (await replayMismatch(fs, before));
  if (violation) throw new InvariantError(violation);
  let wal: Wal;
  try {
    wal = await Wal.open(walOptions(fs, extra));
  } catch (error) {
    throw new InvariantError(`Wal.open failed: ${describeError(error)}`, { cause: error });
  }
  const after = await recoverEntries(fs);
  const changed =
    after.length !== before.length || after[0]?.sequence !== before[0]?.sequence
      ? `Wal.open changed what recovery returns: ${before.length} entries before, ${after.length} after`
      : history.recovered(after, wal.nextSequence);
  if (changed) {
    await wal.close();
    throw new InvariantError(changed);
  }
  return wal;
}

/**
 * Replays the log into a fresh Memtable and compares it with the table the
 * recovered entries (already checked against the history) make: every key's
 * value or tombstone, and the last sequence. A mismatch in words, or undefined.
 */
async function replayMismatch(
  fs: SimFs,
  entries: readonly WalEntry[],
): Promise<string | undefined> {
  const expected = new Map<string, Uint8Array | undefined>();
  for (const e of entries) expected.set(Buffer.from(e.key).toString('hex'), e.value);
  const table = new Memtable();
  try {
    await replay(LOG_DIR, table, { fs, mode: 'tolerate-tail' });
  } catch (error) {
    return `replay failed: ${describeError(error)}`;
  }
  const last = entries.at(-1)?.sequence ?? null;
  if (table.lastSequence !== last)
    return `replay ended at ${table.lastSequence}, recovery at ${last}`;
  if (table.size !== expected.size)
    return `replay holds ${table.size} keys, expected ${expected.size}`;
  for (const [key, value] of expected) {
    const found = table.get(Buffer.from(key, 'hex'));
    const same =
      value === undefined
        ? found === undefined
        : found !== undefined && Buffer.from(found).equals(value);
    if (!same)
      return `replay gives key ${key} ${found === undefined ? 'no value' : 'another value'}`;
  }
  return undefined;
}

export function describeError(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}
