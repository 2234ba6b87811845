import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import { ZLIB_CRC_MIN_BYTES } from './constants.js';

// crc-32 ships CommonJS only.
const require = createRequire(import.meta.url);
const CRC32: { buf(data: Uint8Array, seed?: number): number } = require('crc-32');

/**
 * CRC-32 (IEEE 802.3, reflected, as zlib and crc-32 compute it) of `data`,
 * continued from `seed` (the CRC of the bytes before it). Unsigned.
 * The implementation is chosen by size; both give identical results.
 */
export function crc32(data: Uint8Array, seed = 0): number {
  return data.length >= ZLIB_CRC_MIN_BYTES ? zlib.crc32(data, seed) : CRC32.buf(data, seed) >>> 0;
}

/** The crc-32 path alone. Exported for tests and benchmarks. */
export function crc32Small(data: Uint8Array, seed = 0): number {
  return CRC32.buf(data, seed) >>> 0;
}

/** The zlib path alone. Exported for tests and benchmarks. */
export function crc32Zlib(data: Uint8Array, seed = 0): number {
  return zlib.crc32(data, seed);
}
