import { types } from 'node:util';
import { describeValue, ErrorCode, WalError } from './errors.js';
import { isPlainBytes, plainView } from './views.js';

/** A key or value as callers pass it: bytes, or a string encoded as UTF-8. */
export type BytesLike = Uint8Array | string;

/**
 * Normalises a key or value to bytes. Strings are UTF-8 encoded; a Uint8Array
 * or a Buffer is returned as is, not copied. A subclass of Uint8Array comes
 * back as a plain Uint8Array over the same bytes, so an overridden `length`
 * cannot make its size disagree with its bytes. Anything else, a Proxy of a
 * Uint8Array included, throws `WAL_INVALID_ARGUMENT`. Runs no caller code.
 */
export function toBytes(value: unknown, what: string): Uint8Array {
  if (isPlainBytes(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (types.isUint8Array(value)) return plainView(value);
  throw new WalError(
    ErrorCode.INVALID_ARGUMENT,
    `expected ${what} to be a Uint8Array or a string, found ${describeValue(value)}`,
  );
}

/** u32 little-endian at `offset`. The caller guarantees 4 bytes are there. */
export function readU32(buf: Uint8Array, offset: number): number {
  return (
    ((buf[offset] as number) |
      ((buf[offset + 1] as number) << 8) |
      ((buf[offset + 2] as number) << 16) |
      ((buf[offset + 3] as number) << 24)) >>>
    0
  );
}

/** Writes the low 32 bits of `value` as u32 little-endian at `offset`. */
export function writeU32(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value;
  buf[offset + 1] = value >>> 8;
  buf[offset + 2] = value >>> 16;
  buf[offset + 3] = value >>> 24;
}

/**
 * u64 little-endian at `offset`, or -1 when it exceeds `Number.MAX_SAFE_INTEGER`
 * (the caller reports that as corruption).
 */
export function readU64(buf: Uint8Array, offset: number): number {
  const high = readU32(buf, offset + 4);
  const low = readU32(buf, offset);
  // The low word alone stays a small integer for V8: objects holding a
  // sequence then keep it in place instead of in a heap number each.
  if (high === 0) return low;
  if (high > 0x1fffff) return -1;
  return high * 0x1_0000_0000 + low;
}

/** Writes a safe non-negative integer as u64 little-endian. */
export function writeU64(buf: Uint8Array, offset: number, value: number): void {
  writeU32(buf, offset, value >>> 0);
  writeU32(buf, offset + 4, Math.floor(value / 0x1_0000_0000));
}

/** True when `value` is an integer in [0, max]. */
export function isIndex(value: unknown, max = Number.MAX_SAFE_INTEGER): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;
}
