export {
  type ArchiveOptions,
  type ArchiveRetry,
  Archiver,
  type ArchiveStats,
  archiveLog,
} from './archive.js';
export { directoryTarget } from './archive-directory.js';
export type { ArchivedSegment, ArchiveTarget } from './archive-target.js';
export { TruncatedError } from './errors.js';
export { type Incident, listIncidents } from './incidents.js';
export { type RecoverResult, recover } from './recover.js';
export {
  MANIFEST_FILE,
  QUARANTINE_DIR,
  type RepairOptions,
  type RepairResult,
  repair,
} from './repair.js';
export type { RepairAction, SequenceRange } from './repair-plan.js';
export { type RestoreOptions, type RestoreResult, restoreLog } from './restore.js';
export { type LogScan, readSegment, scanLog } from './scan.js';
export { type LogTail, type TailOptions, tailLog } from './tail.js';
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
