/**
 * A sealed segment as an archive lists it: the fields of the writer's
 * `SealedSegmentInfo` without the local path.
 */
export interface ArchivedSegment {
  /** The segment's number. */
  segment: number;
  /** Its header's first sequence. */
  firstSequence: number;
  /** Its seal's next sequence minus one (below `firstSequence` when it holds none). */
  lastSequence: number;
  /** Length of the whole file. */
  bytes: number;
  /** SHA-256 of the whole file, 64 lowercase hex digits. */
  checksum: string;
}

/**
 * Where `archiveLog` ships sealed segments and `restoreLog` reads them back.
 * `directoryTarget` is one; `@wal/nats` has one on a JetStream Object Store.
 * Implement it structurally: any object with these three methods will do.
 */
export interface ArchiveTarget {
  /**
   * Stores the sealed segment's bytes; resolves once durable at the target.
   * Same segment with same checksum already there = success; a different
   * checksum must reject with WalError code 'WAL_ARCHIVE_CONFLICT'.
   */
  put(info: ArchivedSegment, data: Uint8Array, signal?: AbortSignal): Promise<void>;
  /** The bytes of one archived segment, or undefined. */
  get(segment: number, signal?: AbortSignal): Promise<Uint8Array | undefined>;
  /** Every archived segment, in segment order. */
  list(signal?: AbortSignal): Promise<ArchivedSegment[]>;
}
