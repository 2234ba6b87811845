/**
 * Every number that defines the on-disk format, in one place.
 * `docs/format.md` uses the same names.
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
export const FORMAT_VERSION = 1;

/** magic (8) + version u32 + segment number u64 + first sequence u64 + header CRC u32. */
export const SEGMENT_HEADER_SIZE = 32;

/** length u32 + CRC-32 u32, in front of every record. */
export const FRAME_HEADER_SIZE = 8;

/** record type u8 + first sequence u64 + op count u32. */
export const RECORD_PREFIX_SIZE = 13;

/** op kind u8 + key length u32, in front of every op's key. */
export const OP_HEADER_SIZE = 5;

/** The value length u32 a put adds after its key. */
export const VALUE_LENGTH_SIZE = 4;

/** The smallest valid record: one delete of an empty key. */
export const MIN_RECORD_BYTES = RECORD_PREFIX_SIZE + OP_HEADER_SIZE;

/**
 * The unit in which a power loss may lose or zero unsynced data. Torn-write
 * detection looks for zeroed runs aligned to it (see `looksTorn`).
 */
export const SECTOR_SIZE = 512;

/** Default limit on a record's length (the frame's `length` field). */
export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** The largest `maxRecordBytes` a caller may configure. */
export const MAX_RECORD_BYTES_LIMIT = 1024 * 1024 * 1024;

/** Sequence numbers are stored as u64 but must stay exact in a JavaScript number. */
export const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;

/** Record types: the first byte of a record. */
export const RecordType = {
  /** An atomic batch of 1..n ops with consecutive sequences. */
  Batch: 1,
} as const;

/** Op kinds: the first byte of each op inside a record. */
export const OpKind = {
  /** Followed by key length, key, value length, value. */
  Put: 1,
  /** Followed by key length and key only. */
  Delete: 2,
} as const;

/**
 * Inputs of at least this many bytes are checksummed with `zlib.crc32`,
 * smaller ones with crc-32. Measured on Node 20.20: zlib is 0.91x crc-32 at
 * 256 B, 1.15x at 384 B, 1.7x at 1 KiB and 3x at 64 KiB; below 128 B it is
 * 3-4x slower (call overhead).
 */
export const ZLIB_CRC_MIN_BYTES = 384;
