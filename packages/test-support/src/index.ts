/**
 * `@wal/test-support`: what the @wal test suites share. It depends on no
 * @wal package, so every package's tests can use it without a cycle: a
 * file-system wrapper takes the methods to wrap (`WAL_FS_METHODS`) from its
 * caller.
 */

export { tempDir } from './temp-dir.js';
export { text, utf8 } from './text.js';
export { type Around, wrapMethods } from './wrap-methods.js';
