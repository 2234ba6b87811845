/**
 * `@wal/memtable/internal`: the parts under `Memtable`, for the workspace's
 * benchmarks. Outside the semver promise: anything here may change or go in
 * any release.
 *
 * - `BTree` and `Cursor`: the bare tree, keyed by latin1 strings.
 * - `encodeKey`: the key encoding `Memtable` uses, so a comparison can give
 *   another structure the same key handling.
 * - `Arena`: where `Memtable` copies values, for the floor of replay (a scan
 *   whose keys and values are copied, with no index).
 *
 * @packageDocumentation
 */
export { Arena } from './arena.js';
export { BTree, type Position } from './btree.js';
export { ALL, type Bounds, Cursor } from './cursor.js';
export { decodeKey, encodeKey } from './keys.js';
