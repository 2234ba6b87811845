import type { DamageReason, WalEntry } from '@wal/codec';
import type { WalFs } from '@wal/fs';

export type { WalEntry };

/**
 * What a scan does when it meets damage (modelled on RocksDB's `WALRecoveryMode`).
 *
 * - `strict`: any damage throws `WAL_CORRUPTION`, a torn tail included.
 * - `tolerate-tail` (default): a torn tail in the last segment is dropped and
 *   reported in `stats.tornTail`; any other damage or gap throws.
 * - `point-in-time`: stops at the first damage or gap and returns the
 *   consistent prefix; `stats.stoppedAt` says where.
 * - `skip-corrupted`: skips every damaged region and gap, resyncs and goes on;
 *   every skipped region is listed in `stats.corruptions` or `stats.gaps`.
 */
export type RecoveryMode = 'strict' | 'tolerate-tail' | 'point-in-time' | 'skip-corrupted';

/** Options shared by every function of this package. */
export interface CommonOptions {
  /** File-system implementation. Default: `nodeFs` from `@wal/fs`. */
  fs?: WalFs;
  /** Largest record length accepted; must match the writer's. Default 16 MiB. */
  maxRecordBytes?: number;
}

/** Options of {@link scanLog}, {@link recover} and {@link readSegment}. */
export interface ScanOptions extends CommonOptions {
  /** Default `'tolerate-tail'`. */
  mode?: RecoveryMode;
  /**
   * Return only entries with `sequence >= fromSequence` (default 0). Segments
   * wholly below it are not read (their headers are still checked), so damage
   * inside them is not seen. A batch that straddles it comes out in part.
   */
  fromSequence?: number;
}

/** A damaged region of a segment file. */
export interface Corruption {
  /** Segment number. */
  segment: number;
  /** Path of the segment file. */
  file: string;
  /** Offset of the first damaged byte in the file. */
  offset: number;
  /** Length of the region: to the next valid frame, or to the end of the file. */
  bytes: number;
  reason: DamageReason;
  /** What was expected and what was found. */
  detail: string;
}

/**
 * The end of the last segment that a crash left unfinished: from `offset` to
 * the end of the log (`bytes` long). Those frames were never fully written,
 * hence never acknowledged under `sync: 'always'`.
 */
export type TornTail = Corruption;

/**
 * A hole in the chain of segments:
 * - `missing`: segment numbers skip (a file was lost); found at the file after the hole;
 * - `swapped`: the header's segment number is not the file name's;
 * - `foreign`: the file has no valid @wal header;
 * - `sequence`: the header's first sequence does not continue the previous segment.
 */
export interface Gap {
  kind: 'missing' | 'swapped' | 'foreign' | 'sequence';
  /** Number of the segment file where the gap was found (from its name). */
  segment: number;
  file: string;
  /** Bytes of that file left unread because of the gap (whole file for swapped and foreign). */
  bytes: number;
  detail: string;
}

/** Where a `point-in-time` scan stopped. */
export interface StopPoint {
  segment: number;
  file: string;
  offset: number;
  /** The damage reason, or the gap kind. */
  reason: DamageReason | Gap['kind'];
}

/** What a scan found. Complete once iteration has ended (or thrown). */
export interface RecoveryStats {
  mode: RecoveryMode;
  /** Entries returned. */
  entriesRecovered: number;
  /** Damaged regions skipped or stopped at (a torn tail counts only in `skip-corrupted`). */
  entriesCorrupted: number;
  /** Bytes of the frames returned, frame headers included. */
  bytesRecovered: number;
  /** Bytes passed over: damaged regions, the torn tail, segments skipped as gaps. */
  bytesSkipped: number;
  /** `point-in-time`: bytes after the stop point, never read. */
  bytesUnread: number;
  /** Segment files whose frames were read. */
  segmentsScanned: number;
  /** `point-in-time`: segment files after the stop point, never read. */
  segmentsUnread: number;
  tornTail: TornTail | null;
  corruptions: Corruption[];
  gaps: Gap[];
  /** `point-in-time`: where the scan stopped before the end of the log, or null. */
  stoppedAt: StopPoint | null;
  /** The sequence a writer would use next (0 for an empty log). */
  nextSequence: number;
  /** The last sequence in the log as read, or null when it holds no entry. */
  lastSequence: number | null;
  durationMs: number;
}
