/**
 * `@wal/fs/internal`: the I/O helpers the writer shares with @wal/recovery
 * and @wal/cli, and the waiter list of `waitDurable` that @wal/recovery and
 * @wal/nats wait with too. Outside the semver promise: anything here may change or go
 * in any release. Tools should use `@wal/fs/segments`.
 *
 * @packageDocumentation
 */
export { syncDirectoryState } from './prepare-directory.js';
export { removeUnfinishedSegments } from './segments/create.js';
export { zeroRunEnd, zerosToEnd } from './segments/free-space.js';
export { closeQuietly, errnoOf, io, ioError, readAt, writeFully } from './segments/io.js';
export { notFound, readNames } from './segments/list.js';
export { SequenceWaiters } from './sequence-waiters.js';
