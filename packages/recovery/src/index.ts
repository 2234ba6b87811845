export { type RecoverResult, recover } from './recover.js';
export { type RepairOptions, type RepairResult, repair } from './repair.js';
export { QUARANTINE_DIR, type RepairAction } from './repair-plan.js';
export { LogScan, readSegment, scanLog } from './scan.js';
export { READ_CHUNK_BYTES } from './segment-frames.js';
export type {
  CommonOptions,
  Corruption,
  Gap,
  RecoveryMode,
  RecoveryStats,
  ScanOptions,
  StopPoint,
  TornTail,
  WalEntry,
} from './types.js';
export {
  type Damage,
  type SegmentReport,
  type VerifyOptions,
  type VerifyReport,
  verify,
} from './verify.js';
