export { ENTRY_OVERHEAD_BYTES, Memtable } from './memtable.js';
export { DEFAULT_MAX_SIZE_BYTES, type MemtableOptions } from './options.js';
export type { RangeOptions } from './range.js';
export { type ReplayOptions, type ReplayResult, replay } from './replay.js';
