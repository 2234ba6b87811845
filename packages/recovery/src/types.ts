import type { Damage, Hole, WalEntry } from '@wal/codec';
import type { WalFs } from '@wal/fs';

export type { Damage, WalEntry };

/**
 * What a scan does when it meets damage (modelled on RocksDB's `WALRecoveryMode`).
 *
 * - `strict`: any damage throws `WAL_CORRUPTION`, a torn tail included.
 * - `tolerate-tail` (default): a torn tail in the last segment is dropped and
 *   reported in `stats.tornTail`; any other damage throws.
 * - `point-in-time`: stops at the first damage and returns the consistent
 *   prefix; `stats.stoppedAt` says where.
 * - `skip-corrupted`: skips every damaged region, resyncs and goes on;
 *   every skipped region is listed in `stats.damage`.
 *
 * Holes that `repair` wrote are not damage: every mode reads past them and
 * lists them in `stats.holes`.
 */
export type RecoveryMode = 'strict' | 'tolerate-tail' | 'point-in-time' | 'skip-corrupted';

/** Options shared by every function of this package. */
export interface CommonOptions {
  /** File-system implementation. Default: `nodeFs` from `@wal/fs`. */
  fs?: WalFs | undefined;
}

/** Options of {@link scanLog}, {@link recover} and {@link readSegment}. */
export interface ScanOptions extends CommonOptions {
  /** Default `'tolerate-tail'`. */
  mode?: RecoveryMode | undefined;
  /**
   * Return only entries with `sequence >= fromSequence` (default 0). Sealed
   * segments wholly below it are not read (their headers and seals still
   * are), so damage inside them is not seen. A batch that straddles it
   * comes out in part.
   */
  fromSequence?: number | undefined;
  /**
   * Return only entries with `sequence <= toSequence`; the scan stops after
   * it. Below `fromSequence` it is `WAL_INVALID_OPTIONS`.
   */
  toSequence?: number | undefined;
  /** Return at most this many entries. */
  limit?: number | undefined;
  /** Aborts the scan: iteration rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /**
   * What a missing directory is. `'error'` (default): `WAL_NOT_FOUND`, so a
   * mistyped or unmounted path is never read as an empty log. `'empty'`: an
   * empty log, with `stats.missing` true (first boot, before `Wal.open`
   * created it).
   */
  ifMissing?: 'error' | 'empty' | undefined;
}

/** A hole repair wrote, where it is. */
export interface HoleFound extends Hole {
  file: string;
  segment: number;
  offset: number;
}

/** What a scan found. Complete once iteration has ended (or thrown). */
export interface RecoveryStats {
  mode: RecoveryMode;
  /** True when the directory did not exist (`ifMissing: 'empty'`). */
  missing: boolean;
  /** Entries returned. */
  entriesRecovered: number;
  /** Damaged regions skipped or stopped at (a torn tail counts only in `skip-corrupted`). */
  damagedRegions: number;
  /** Bytes of the frames returned, frame headers included. */
  bytesRecovered: number;
  /** Bytes passed over: damaged regions, the torn tail, segments skipped. */
  bytesSkipped: number;
  /** `point-in-time`: bytes after the stop point, never read. */
  bytesUnread: number;
  /** Zeros after the last frame of the last segment: room the writer preallocated, neither data nor damage. */
  bytesFree: number;
  /** Segment files whose frames were read. */
  segmentsScanned: number;
  /** `point-in-time`: segment files after the stop point, never read. */
  segmentsUnread: number;
  /** The end of the last segment a crash left unfinished, dropped (not in strict mode). */
  tornTail: Damage | null;
  /** Every damaged region met, in log order (the torn tail only in `skip-corrupted`). */
  damage: Damage[];
  /** Sequences repair recorded as lost, in log order. */
  holes: HoleFound[];
  /** `point-in-time`: the damage the scan stopped at, or null. */
  stoppedAt: Damage | null;
  /** The first sequence the log still holds (its oldest segment's first), or null for no segment. */
  firstSequence: number | null;
  /**
   * The sequence after the last one the scan accepted (0 for an empty log):
   * where a writer goes on in an intact log. Past damage it is a floor, not
   * the log's end: a segment whose header is damaged is not read (its
   * records are unknown until `repair` salvages them, and a writer refuses
   * the log until then), and `repair` never reuses a sequence the log shows.
   */
  nextSequence: number;
  /**
   * The log's id, from the header of its last segment with a valid one, or
   * null when no segment has one. A writer that starts a log in an empty
   * directory gives it a new id; repair and restore keep it.
   */
  logId: string | null;
  /** The last sequence in the log as read, or null when it holds no entry. */
  lastSequence: number | null;
  durationMs: number;
}
