import { isIndex } from './bytes.js';
import { MAX_RECORD_BYTES_LIMIT, MIN_BATCH_BYTES } from './constants.js';
import { describeValue, ErrorCode, WalError } from './errors.js';

/**
 * True when `value` is a usable `maxRecordBytes`: an integer in
 * [MIN_BATCH_BYTES, MAX_RECORD_BYTES_LIMIT].
 */
export function isMaxRecordBytes(value: unknown): value is number {
  return isIndex(value, MAX_RECORD_BYTES_LIMIT) && value >= MIN_BATCH_BYTES;
}

/**
 * Throws `WAL_RECORD_TOO_LARGE` when a record of `size` bytes exceeds
 * `maxRecordBytes`, and `WAL_INVALID_ARGUMENT` when `maxRecordBytes` itself is
 * not a usable limit (a NaN limit would otherwise let every record through).
 */
export function assertRecordSize(size: number, maxRecordBytes: number): void {
  if (!isMaxRecordBytes(maxRecordBytes)) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected maxRecordBytes to be an integer in [${MIN_BATCH_BYTES}, ${MAX_RECORD_BYTES_LIMIT}], found ${describeValue(maxRecordBytes)}`,
    );
  }
  if (size > maxRecordBytes) {
    throw new WalError(
      ErrorCode.RECORD_TOO_LARGE,
      `expected a record of at most ${maxRecordBytes} bytes (maxRecordBytes), found ${size} bytes`,
    );
  }
}
