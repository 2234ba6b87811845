/**
 * `@wal/fs/testing`: a crash-simulating, fault-injecting file system for
 * testing code built on @wal (or @wal itself). Pass a {@link SimFs} as the
 * `fs` option of `Wal.open`.
 */
export type { CrashPlan, CrashPlanOptions, FileOutcome } from './crash.js';
export { type ErrnoCode, errnoError } from './errno.js';
export { FAULT_CODES, Fault, type FaultSpec, type FiredFault, type FsOp } from './faults.js';
export { type Random, seededRandom } from './random.js';
export { type OperationEvent, SimFs, type SimFsOptions } from './sim-fs.js';
