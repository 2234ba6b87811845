export type { ArchivedSegment, ArchiveTarget } from './archive-target.js';
export { type RecoverResult, recover } from './recover.js';
export {
  MANIFEST_FILE,
  QUARANTINE_DIR,
  type RepairOptions,
  type RepairResult,
  repair,
} from './repair.js';
export type { RepairAction, SequenceRange } from './repair-plan.js';
export { LogScan, readSegment, scanLog } from './scan.js';
export type {
  CommonOptions,
  Damage,
  HoleFound,
  RecoveryMode,
  RecoveryStats,
  ScanOptions,
  WalEntry,
} from './types.js';
export {
  type SegmentReport,
  type VerifyOptions,
  type VerifyReport,
  verify,
} from './verify.js';
