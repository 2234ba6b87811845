export {
  type BytesLike,
  isIndex,
  readU32,
  readU64,
  toBytes,
  writeU32,
  writeU64,
} from './bytes.js';
export {
  DEFAULT_MAX_RECORD_BYTES,
  FORMAT_VERSION,
  FRAME_HEADER_SIZE,
  MAX_RECORD_BYTES_LIMIT,
  MAX_SEQUENCE,
  MIN_RECORD_BYTES,
  OP_HEADER_SIZE,
  OpKind,
  RECORD_PREFIX_SIZE,
  RecordType,
  SECTOR_SIZE,
  SEGMENT_HEADER_SIZE,
  SEGMENT_MAGIC,
  VALUE_LENGTH_SIZE,
  ZLIB_CRC_MIN_BYTES,
} from './constants.js';
export { crc32, crc32Small, crc32Zlib } from './crc32.js';
export {
  type CorruptionDetails,
  CorruptionError,
  type DamageReason,
  describeValue,
  ErrorCode,
  WalError,
  type WalErrorOptions,
} from './errors.js';
export { decodeFrameAt, type FrameResult, findNextFrame } from './frame-decoder.js';
export {
  assertRecordSize,
  type DeleteEntry,
  encodeFrame,
  encodeRecord,
  frameChecksum,
  isMaxRecordBytes,
  type PutEntry,
  recordSize,
  type WalEntry,
  type WalOp,
  type WalRecord,
} from './record.js';
export {
  type BadSegmentHeader,
  decodeSegmentHeader,
  encodeSegmentHeader,
  isBadSegmentHeader,
  type SegmentHeader,
} from './segment-header.js';
export {
  type DecodeResult,
  decodeAll,
  FrameDecoder,
  type FrameDecoderOptions,
} from './stream-decoder.js';
export { looksTorn } from './torn-write.js';
