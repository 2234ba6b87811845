// The archive target interface @wal/fs's archiver ships sealed segments to.
// Declared here structurally until that archiver lands; the shapes are the
// same, so an ObjectStoreArchive is a target for it as it is.

/** A sealed segment as the archive knows it. */
export interface ArchivedSegment {
  segment: number;
  firstSequence: number;
  lastSequence: number;
  /** The segment file's length. */
  bytes: number;
  /** The archiver's checksum of the file's bytes (compared as a string). */
  checksum: string;
}

/** Where an archiver ships sealed segments. */
export interface ArchiveTarget {
  /**
   * Stores the sealed segment's bytes; resolves once durable at the target.
   * The same segment with the same checksum already there is success; a
   * different checksum rejects with `WAL_ARCHIVE_CONFLICT`.
   */
  put(info: ArchivedSegment, data: Uint8Array, signal?: AbortSignal): Promise<void>;
  /** The segment's bytes, or undefined when the archive does not hold it. */
  get(segment: number, signal?: AbortSignal): Promise<Uint8Array | undefined>;
  /** Every archived segment, by number. */
  list(signal?: AbortSignal): Promise<ArchivedSegment[]>;
}
