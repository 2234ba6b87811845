/**
 * `@wal/recovery/internal`: what @wal/nats shares with this package. Outside
 * the semver promise: anything here may change or go in any release.
 *
 * @packageDocumentation
 */
export { checkArchiveOptions } from './archive.js';
