import type { WalEntry } from '@wal/codec';
import { scanLog } from './scan.js';
import type { RecoveryStats, ScanOptions } from './types.js';

/** What {@link recover} returns. */
export interface RecoverResult {
  /** Every entry, in sequence order. Keys and values are views into read buffers (see {@link LogScan}). */
  entries: WalEntry[];
  /** The sequence after the last one read: 0 for an empty log (see {@link RecoveryStats.nextSequence}: past damage, a floor). */
  nextSequence: number;
  /** The last sequence read, or null when the log holds no entry. */
  lastSequence: number | null;
  stats: RecoveryStats;
}

/**
 * Recovers every entry of the log in `dir` into memory. Use
 * {@link scanLog} to stream instead. Rejects as {@link scanLog} throws.
 *
 * ```ts
 * const { entries, nextSequence, stats } = await recover('./data/wal');
 * ```
 */
export async function recover(dir: string, options?: ScanOptions): Promise<RecoverResult> {
  const scan = scanLog(dir, options);
  const entries: WalEntry[] = [];
  for await (const batch of scan.batches()) {
    for (const entry of batch) entries.push(entry);
  }
  const { stats } = scan;
  return { entries, nextSequence: stats.nextSequence, lastSequence: stats.lastSequence, stats };
}
