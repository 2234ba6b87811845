export {
  type BytesLike,
  isIndex,
  readU32,
  readU64,
  toBytes,
  writeU32,
  writeU64,
} from './bytes.js';
export * from './constants.js';
export { crc32, crc32Small, crc32Zlib } from './crc32.js';
export {
  CorruptionError,
  type Damage,
  type DamageReason,
  describeValue,
  ErrorCode,
  WalError,
  type WalErrorOptions,
} from './errors.js';
export {
  type DecodedRecord,
  decodeFrameAt,
  type FrameReadContext,
  type FrameResult,
  mayStartFrame,
} from './frame-decoder.js';
export { assertRecordSize, isMaxRecordBytes } from './limits.js';
export {
  type DeleteEntry,
  encodeBatch,
  encodeBatchFrame,
  encodeHoleFrame,
  encodeMarkFrame,
  encodeSealFrame,
  type FrameContext,
  frameChecksum,
  type Hole,
  type PutEntry,
  recordSize,
  type Seal,
  saltSeed,
  type WalEntry,
  type WalOp,
} from './record.js';
export {
  type BadSegmentHeader,
  decodeSegmentHeader,
  encodeSegmentHeader,
  isBadSegmentHeader,
  type SegmentHeader,
} from './segment-header.js';
export {
  type DecodedDamage,
  type DecodedFrame,
  type DecodeResult,
  decodeAll,
  FrameDecoder,
  type FrameDecoderOptions,
  sequencesOf,
} from './stream-decoder.js';
