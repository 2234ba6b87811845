import type { WalEntry } from '@wal/codec';
import { Wal, type WalOptions } from '@wal/fs';
import type { SimFs } from '@wal/fs/testing';
import type { History } from './history.js';
import { recover } from './recovery.js';
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
 * prefix of the history holding every acknowledged op; `Wal.open` succeeds,
 * cuts nothing recovery returned, and continues where recovery ended.
 * Returns the reopened writer; throws InvariantError on a violation.
 */
export async function reopenAndCheck(
  fs: SimFs,
  history: History,
  extra: Partial<WalOptions> = {},
): Promise<Wal> {
  const before = await recoverEntries(fs);
  const violation = history.check(before);
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

export function describeError(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}
