export { io, ioError } from './io-error.js';
export { LOCK_FILE, nodeFs } from './node-fs.js';
export type { ActiveSegment, SealedSegment, TailRepair } from './open-log.js';
export { MIN_SEGMENT_BYTES, type SyncMode, type WalOptions } from './options.js';
export {
  brokenFilePath,
  listSegments,
  parseSegmentFileName,
  type SegmentFile,
  segmentFileName,
} from './segment-files.js';
export { CREATING_SUFFIX, closeQuietly, readAt, writeFully } from './segment-io.js';
export { type Damage, isTornTail, refuseOversizedRecord } from './tail-policy.js';
export { type BatchOp, Wal, type WalState } from './wal.js';
export { isWalFs, WAL_FS_METHODS, type WalFs } from './wal-fs.js';
