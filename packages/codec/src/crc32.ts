// biome-ignore-all lint/style/noNonNullAssertion: table lookups whose every index is in range by construction.
import zlib from 'node:zlib';
import { ZLIB_CRC_MIN_BYTES } from './constants.js';

/** The reflected IEEE 802.3 polynomial. */
export const CRC32_POLY = 0xedb88320;

/**
 * Slicing-by-16 tables in one flat Int32Array: table s (at s * 256) advances
 * a byte that is s bytes from the end of a 16-byte block. Tables 0-3 are also
 * the slicing-by-4 tables of one 4-byte word.
 */
export const CRC32_TABLES: Int32Array = (() => {
  const t = new Int32Array(16 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CRC32_POLY : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 16; s++) {
      const prev = t[(s - 1) * 256 + i]!;
      t[s * 256 + i] = (prev >>> 8) ^ t[prev & 255]!;
    }
  }
  return t;
})();

const T = CRC32_TABLES;

/**
 * CRC-32 (IEEE 802.3, reflected, as zlib computes it) of `data`, continued
 * from `seed` (the CRC of the bytes before it). Unsigned. Below
 * `ZLIB_CRC_MIN_BYTES` a table-driven loop in JS, above it zlib: the native
 * call costs more than the loop on short inputs. Both give identical results.
 */
export function crc32(data: Uint8Array, seed = 0): number {
  return data.length >= ZLIB_CRC_MIN_BYTES
    ? zlib.crc32(data, seed)
    : crc32Range(data, seed, 0, data.length);
}

/**
 * CRC-32 of `data[start, end)` continued from `seed`, in JS (slicing-by-16),
 * without a subarray. The caller keeps `0 <= start <= end <= data.length`.
 */
export function crc32Range(data: Uint8Array, seed: number, start: number, end: number): number {
  const b = data;
  let c = ~seed;
  let i = start;
  // Byte loads and one flat table: V8 keeps every value an int32.
  for (const end16 = end - 15; i < end16; i += 16) {
    const a = c ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24));
    c =
      T[3840 + (a & 255)]! ^
      T[3584 + ((a >>> 8) & 255)]! ^
      T[3328 + ((a >>> 16) & 255)]! ^
      T[3072 + (a >>> 24)]! ^
      T[2816 + b[i + 4]!]! ^
      T[2560 + b[i + 5]!]! ^
      T[2304 + b[i + 6]!]! ^
      T[2048 + b[i + 7]!]! ^
      T[1792 + b[i + 8]!]! ^
      T[1536 + b[i + 9]!]! ^
      T[1280 + b[i + 10]!]! ^
      T[1024 + b[i + 11]!]! ^
      T[768 + b[i + 12]!]! ^
      T[512 + b[i + 13]!]! ^
      T[256 + b[i + 14]!]! ^
      T[b[i + 15]!]!;
  }
  for (const end4 = end - 3; i < end4; i += 4) {
    const a = c ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24));
    c =
      T[768 + (a & 255)]! ^
      T[512 + ((a >>> 8) & 255)]! ^
      T[256 + ((a >>> 16) & 255)]! ^
      T[a >>> 24]!;
  }
  for (; i < end; i++) c = (c >>> 8) ^ T[(c ^ b[i]!) & 255]!;
  return ~c >>> 0;
}

/** The JS path alone. Exported for tests and benchmarks. */
export function crc32Small(data: Uint8Array, seed = 0): number {
  return crc32Range(data, seed, 0, data.length);
}

/** The zlib path alone. Exported for tests and benchmarks. */
export function crc32Zlib(data: Uint8Array, seed = 0): number {
  return zlib.crc32(data, seed);
}
