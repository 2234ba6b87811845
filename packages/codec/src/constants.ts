/**
 * Every number that defines the on-disk format, in one place: sizes, field
 * offsets and type codes. `docs/format.md` uses the same names.
 */

/** First 8 bytes of every segment file: `\x89 W A L \r \n \x1a \n`. */
export const SEGMENT_MAGIC: Readonly<Uint8Array> = Uint8Array.of(
  0x89,
  0x57,
  0x41,
  0x4c,
  0x0d,
  0x0a,
  0x1a,
  0x0a,
);

/** The only format version this codec reads and writes. */
export const FORMAT_VERSION = 2;

/** Bytes of the log id every segment header of one log repeats. */
export const LOG_ID_SIZE = 8;

/** Bytes of a segment's salt (u32): a frame's CRC starts with them, little-endian. */
export const SALT_SIZE = 4;

// Segment header fields: offsets from the start of the file.
/** `magic`: {@link SEGMENT_MAGIC}. */
export const HEADER_MAGIC_OFFSET = 0;
/** `version` u32. */
export const HEADER_VERSION_OFFSET = 8;
/** `salt` u32: random per segment, mixed into every frame CRC of the segment. */
export const HEADER_SALT_OFFSET = 12;
/** `segment` u64: the number in the file name. */
export const HEADER_SEGMENT_OFFSET = 16;
/** `first sequence` u64: the sequence of the segment's first entry (or of the next one written). */
export const HEADER_FIRST_SEQUENCE_OFFSET = 24;
/** `max record bytes` u32: the record limit the segment was written under. */
export const HEADER_MAX_RECORD_BYTES_OFFSET = 32;
/** `log id`, {@link LOG_ID_SIZE} bytes: the same in every segment of a log. */
export const HEADER_LOG_ID_OFFSET = 36;
/** `header CRC` u32: CRC-32 of every header byte before it. */
export const HEADER_CRC_OFFSET = 44;
/** Bytes in a segment header. */
export const SEGMENT_HEADER_SIZE = 48;

// Frame header fields: offsets from the start of a frame.
/** `length` u32: the record's length. */
export const FRAME_LENGTH_OFFSET = 0;
/** `CRC` u32: over the segment's salt, the length field and the record. */
export const FRAME_CRC_OFFSET = 4;
/** length u32 + CRC-32 u32, in front of every record. */
export const FRAME_HEADER_SIZE = 8;

// Fields every record starts with: offsets from the start of the record.
/** `type` u8: a {@link RecordType}. */
export const RECORD_TYPE_OFFSET = 0;
/**
 * `synced` u32: how many bytes of the segment were durable (fdatasync'ed)
 * when the writer wrote this record. It is what tells bit rot from a torn
 * write: damage that starts below a later frame's `synced` was on disk
 * before that frame was written.
 */
export const RECORD_SYNCED_OFFSET = 1;
/** type u8 + synced u32: the prefix every record type shares. */
export const RECORD_COMMON_SIZE = 5;

// Batch record fields (after the common prefix).
/** `first sequence` u64 of a batch. */
export const BATCH_FIRST_SEQUENCE_OFFSET = 5;
/** `op count` u32 of a batch. */
export const BATCH_COUNT_OFFSET = 13;
/** Common prefix + first sequence u64 + op count u32: where a batch's ops start. */
export const BATCH_PREFIX_SIZE = 17;
// Op fields: offsets from the start of an op.
/** `kind` u8: an {@link OpKind}. */
export const OP_KIND_OFFSET = 0;
/** `key length` u32. */
export const OP_KEY_LENGTH_OFFSET = 1;
/** op kind u8 + key length u32, in front of every op's key. */
export const OP_HEADER_SIZE = 5;
/** The value length u32 a put adds after its key. */
export const VALUE_LENGTH_SIZE = 4;

// Seal record fields: the last frame of every segment but the active one.
/** `next sequence` u64: the sequence after the segment's last entry. */
export const SEAL_NEXT_SEQUENCE_OFFSET = 5;
/** `records` u32: how many batch and hole records the segment holds. */
export const SEAL_RECORDS_OFFSET = 13;
/** `bytes` u32: the segment's length, this frame included. */
export const SEAL_BYTES_OFFSET = 17;
/** Bytes in a seal record. */
export const SEAL_RECORD_SIZE = 21;
/** Bytes in a seal frame: a sealed segment's last bytes. */
export const SEAL_FRAME_SIZE = FRAME_HEADER_SIZE + SEAL_RECORD_SIZE;

// Hole record fields: written by repair where damage took entries.
/** `first sequence` u64: the first sequence lost. */
export const HOLE_FIRST_SEQUENCE_OFFSET = 5;
/** `next sequence` u64: the sequence after the last one lost. */
export const HOLE_NEXT_SEQUENCE_OFFSET = 13;
/** `incident` u32: the `quarantine/<incident>/` folder holding the bytes. */
export const HOLE_INCIDENT_OFFSET = 21;
/** Bytes in a hole record. */
export const HOLE_RECORD_SIZE = 25;

// Mark record fields: a durability mark with no entries.
/** `next sequence` u64: the writer's next sequence when it wrote the mark. */
export const MARK_NEXT_SEQUENCE_OFFSET = 5;
/** Bytes in a mark record. */
export const MARK_RECORD_SIZE = 13;

/** The smallest valid record of any type (a mark). */
export const MIN_RECORD_BYTES = MARK_RECORD_SIZE;

/** The smallest batch: one delete of an empty key. */
export const MIN_BATCH_BYTES = BATCH_PREFIX_SIZE + OP_HEADER_SIZE;

/** Default limit on a record's length (the frame's `length` field). */
export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** The largest `maxRecordBytes` a caller may configure. */
export const MAX_RECORD_BYTES_LIMIT = 1024 * 1024 * 1024;

/**
 * The largest `maxSegmentBytes`. With a record of at most 1 GiB past it, a
 * segment stays below 2^32 bytes, so `synced` and a seal's `bytes` fit a u32.
 */
export const MAX_SEGMENT_BYTES_LIMIT = 2 * 1024 * 1024 * 1024;

/**
 * Sequence numbers are stored as u64 but stay exact in a JavaScript number.
 * The last usable sequence is one below, so that the sequence after it is
 * still exact.
 */
export const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;

/** Record types: the first byte of a record. */
export const RecordType = {
  /** An atomic batch of 1..n ops with consecutive sequences. */
  Batch: 1,
  /** The end of a segment: its next sequence, record count and length. */
  Seal: 2,
  /** Sequences repair found lost, and the incident that kept their bytes. */
  Hole: 3,
  /** A durability mark: the `synced` of everything before it, and no entries. */
  Mark: 4,
} as const;

/** Op kinds: the first byte of each op inside a batch. */
export const OpKind = {
  /** Followed by key length, key, value length, value. */
  Put: 1,
  /** Followed by key length and key only. */
  Delete: 2,
} as const;

/**
 * Inputs of at least this many bytes are checksummed with `zlib.crc32`,
 * smaller ones with the codec's JS slicing-by-16. Measured on Node 20.20:
 * zlib is 0.91x the JS loop at 256 B, 1.15x at 384 B, 1.7x at 1 KiB and 3x
 * at 64 KiB; below 128 B it is 3-4x slower (call overhead).
 */
export const ZLIB_CRC_MIN_BYTES = 384;
