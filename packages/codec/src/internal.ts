/**
 * `@wal/codec/internal`: helpers the other @wal packages share. Outside the
 * semver promise: anything here may change or go in any release.
 *
 * - Options validation (`parseOptions` and its kinds), so every package
 *   checks options and words the errors the same way.
 *
 * @packageDocumentation
 */
export {
  boolean,
  integer,
  invalidOptions,
  type Kind,
  nonEmptyString,
  type Option,
  type OptionTable,
  oneOf,
  option,
  orNull,
  parseOptions,
  problem,
  type ResolvedOptions,
  required,
} from './options.js';
