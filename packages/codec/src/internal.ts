/**
 * `@wal/codec/internal`: helpers the other @wal packages share. Outside the
 * semver promise: anything here may change or go in any release.
 *
 * - `crc32Range`: the CRC-32 of part of a buffer, without a subarray (the
 *   bench measures it against other CRCs).
 * - `solveFrameSalt`, `solveHeaderSalt`: the salt a frame (or the header
 *   itself) validates under, for repair of a segment whose header is damaged.
 * - Options validation (`parseOptions` and its kinds), so every package
 *   checks options and words the errors the same way.
 * - `isPlainBytes`: a byte check that runs no caller code (internal slots,
 *   not `instanceof`).
 *
 * @packageDocumentation
 */

export { crc32Range } from './crc32.js';
export {
  boolean,
  checkPath,
  defaults,
  either,
  instanceOf,
  integer,
  invalidOptions,
  type Kind,
  matching,
  type Option,
  type OptionTable,
  object,
  oneOf,
  option,
  orNull,
  parseOptions,
  pathString,
  problem,
  type ResolvedOptions,
  required,
} from './options.js';
export { solveFrameSalt, solveHeaderSalt } from './salt-solve.js';
export { isPlainBytes } from './views.js';
