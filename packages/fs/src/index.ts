export { LOCK_FILE } from './lock.js';
export { nodeFs } from './node-fs.js';
export type { TailCut } from './open-log.js';
export { MIN_SEGMENT_BYTES, type SyncMode, type WalOptions } from './options.js';
export {
  describeSealedSegment,
  type ListSealedOptions,
  listSealedSegments,
  type SealedSegmentInfo,
} from './sealed.js';
export { SegmentHold, type SegmentHoldOptions, type SegmentHoldState } from './segment-hold.js';
export { type BatchOp, Wal, type WalState } from './wal.js';
export { isWalFs, WAL_FS_METHODS, type WalFs } from './wal-fs.js';
