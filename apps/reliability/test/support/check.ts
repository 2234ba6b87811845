import type { WalEntry } from '@wal/codec';
import { Wal, type WalOptions } from '@wal/fs';
import type { SimFs } from '@wal/fs/testing';
import { Memtable, replay } from '@wal/memtable';
import { recover } from '@wal/recovery';
import type { Fate, History } from './history.js';
import { SMALL_SEGMENTS } from './workload.js';

export const LOG_DIR = '/db';

/** The `syncIntervalMs` of `'interval'` writers: under fake timers, a tick runs their sync. */
export const INTERVAL_MS = 10;

/** A SimFs holding an empty, durable log directory (as if made by an earlier run). */
export async function freshFs(fs: SimFs): Promise<SimFs> {
  await fs.mkdirp(LOG_DIR);
  fs.syncAll();
  return fs;
}

export function walOptions(fs: SimFs, extra: Partial<WalOptions> = {}): WalOptions {
  return {
    dir: LOG_DIR,
    fs,
    sync: 'always',
    syncIntervalMs: INTERVAL_MS,
    maxSegmentBytes: SMALL_SEGMENTS,
    ...extra,
  };
}

/** A violation of the crash invariant, in words. */
export class InvariantError extends Error {}

/**
 * Every entry recovery returns in `tolerate-tail` mode (none when a crash
 * took the directory before anything was acknowledged), or an
 * InvariantError saying why none.
 */
export async function recoverEntries(fs: SimFs): Promise<WalEntry[]> {
  return (await recoverLog(fs)).entries;
}

/** {@link recoverEntries}, and the first sequence the log holds (null for no segment). */
async function recoverLog(
  fs: SimFs,
): Promise<{ entries: WalEntry[]; firstSequence: number | null }> {
  try {
    const { entries, stats } = await recover(LOG_DIR, {
      fs,
      mode: 'tolerate-tail',
      ifMissing: 'empty',
    });
    return { entries, firstSequence: stats.firstSequence };
  } catch (error) {
    throw new InvariantError(`recovery failed: ${describeError(error)}`);
  }
}

/**
 * The invariant after a crash, a kill or a fault (`fate` says what must be
 * kept): recovery succeeds and returns a prefix of the history holding every
 * op it must keep, and replay into a Memtable gives the table those entries
 * make; `Wal.open` succeeds, cuts nothing recovery returned, and continues
 * where recovery ended. Returns the reopened writer; throws InvariantError
 * on a violation.
 */
export async function reopenAndCheck(
  fs: SimFs,
  history: History,
  extra: Partial<WalOptions> = {},
  fate: Fate = 'power loss',
): Promise<Wal> {
  const { entries: before, firstSequence } = await recoverLog(fs);
  const violation =
    history.check(before, fate) ?? (await replayMismatch(fs, before, firstSequence));
  if (violation) throw new InvariantError(violation);
  let wal: Wal;
  try {
    wal = await Wal.open(walOptions(fs, { sync: history.sync, ...extra }));
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
 * Replays the log into an empty Memtable and compares it with the table the
 * recovered entries (already checked against the history) make: every key's
 * value or tombstone, and the last sequence. The table starts where the log
 * does (`firstSequence`): truncateThrough removed what came before, which a
 * checkpoint held. A mismatch in words, or undefined.
 */
async function replayMismatch(
  fs: SimFs,
  entries: readonly WalEntry[],
  firstSequence: number | null,
): Promise<string | undefined> {
  const expected = new Map<string, Uint8Array | undefined>();
  for (const e of entries) expected.set(Buffer.from(e.key).toString('hex'), e.value);
  const checkpoint = firstSequence ? firstSequence - 1 : null;
  const table = new Memtable({ lastSequence: checkpoint });
  try {
    await replay(LOG_DIR, table, { fs, mode: 'tolerate-tail', ifMissing: 'empty' });
  } catch (error) {
    return `replay failed: ${describeError(error)}`;
  }
  return tableMismatch(table, expected, entries.at(-1)?.sequence ?? checkpoint);
}

/**
 * How `table` differs from `expected` (hex key to value, undefined for a
 * tombstone) and the last sequence `last`, in words; undefined when it does not.
 */
export function tableMismatch(
  table: Memtable,
  expected: ReadonlyMap<string, Uint8Array | undefined>,
  last: number | null,
): string | undefined {
  if (table.lastSequence !== last) return `replay ended at ${table.lastSequence}, expected ${last}`;
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
