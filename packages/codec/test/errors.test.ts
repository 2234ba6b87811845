import { CorruptionError, type Damage, describeValue, ErrorCode, WalError } from '@wal/codec';
import { describe, expect, test } from 'vitest';

describe('WalError', () => {
  test('the codes are the nineteen documented strings, each under its own name', () => {
    expect(ErrorCode).toEqual({
      CORRUPTION: 'WAL_CORRUPTION',
      RECORD_TOO_LARGE: 'WAL_RECORD_TOO_LARGE',
      INVALID_ARGUMENT: 'WAL_INVALID_ARGUMENT',
      INVALID_OPTIONS: 'WAL_INVALID_OPTIONS',
      IO_ERROR: 'WAL_IO_ERROR',
      LOCKED: 'WAL_LOCKED',
      CLOSED: 'WAL_CLOSED',
      FAILED: 'WAL_FAILED',
      NOT_FOUND: 'WAL_NOT_FOUND',
      SEQUENCE_EXHAUSTED: 'WAL_SEQUENCE_EXHAUSTED',
      TRUNCATED: 'WAL_TRUNCATED',
      SEQUENCE_REWOUND: 'WAL_SEQUENCE_REWOUND',
      ARCHIVE_CONFLICT: 'WAL_ARCHIVE_CONFLICT',
      ARCHIVE_GAP: 'WAL_ARCHIVE_GAP',
      ARCHIVE_CORRUPT: 'WAL_ARCHIVE_CORRUPT',
      HOLD_EXCEEDED: 'WAL_HOLD_EXCEEDED',
      FENCED: 'WAL_FENCED',
      REMOTE_ERROR: 'WAL_REMOTE_ERROR',
      CONCURRENT_CHANGE: 'WAL_CONCURRENT_CHANGE',
    });
  });

  test('carries code, message, name and cause', () => {
    const cause = new Error('EIO');
    const e = new WalError(ErrorCode.IO_ERROR, 'expected a write, found EIO', { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('WAL_IO_ERROR');
    expect(e.message).toBe('expected a write, found EIO');
    expect(e.name).toBe('WalError');
    expect(e.cause).toBe(cause);
    expect(String(e)).toBe('WalError: expected a write, found EIO');
  });

  test('isInstance: any WalError, or only those with the given code', () => {
    const e = new WalError(ErrorCode.LOCKED, 'expected no other writer, found pid 42');
    expect(WalError.isInstance(e)).toBe(true);
    expect(WalError.isInstance(e, ErrorCode.LOCKED)).toBe(true);
    expect(WalError.isInstance(e, ErrorCode.CLOSED)).toBe(false);
    for (const other of [
      new Error('x'),
      { code: 'WAL_LOCKED' },
      null,
      undefined,
      'WAL_LOCKED',
      42,
    ]) {
      expect(WalError.isInstance(other)).toBe(false);
    }
  });

  test('isInstance recognises an error from another copy of the package', async () => {
    // A query string makes the module loader evaluate errors.ts a second time:
    // a distinct class, as a duplicated dependency would give.
    const specifier: string = '../src/errors.ts?copy';
    const copy = (await import(/* @vite-ignore */ specifier)) as typeof import('@wal/codec');
    expect(copy.WalError).not.toBe(WalError);
    const foreign = new copy.WalError(ErrorCode.CLOSED, 'expected an open log, found it closed');
    expect(foreign).not.toBeInstanceOf(WalError);
    expect(WalError.isInstance(foreign)).toBe(true);
    expect(WalError.isInstance(foreign, ErrorCode.CLOSED)).toBe(true);
    expect(copy.WalError.isInstance(new WalError(ErrorCode.LOCKED, 'x'), ErrorCode.LOCKED)).toBe(
      true,
    );
  });

  test('isInstance recognises an object branded with the registered symbol', () => {
    const branded = { [Symbol.for('@wal/codec.WalError')]: true, code: ErrorCode.IO_ERROR };
    expect(WalError.isInstance(branded)).toBe(true);
    expect(WalError.isInstance(branded, ErrorCode.IO_ERROR)).toBe(true);
    expect(WalError.isInstance(branded, ErrorCode.LOCKED)).toBe(false);
    expect(WalError.isInstance({ [Symbol('@wal/codec.WalError')]: true })).toBe(false);
  });
});

describe('CorruptionError', () => {
  const damage: Damage = {
    file: '/logs/a/wal_00000003.log',
    segment: 3,
    offset: 64,
    bytes: 30,
    reason: 'checksum-mismatch',
    detail: 'expected CRC 0x00000001 (stored), found 0x00000002 (computed)',
  };

  test('is a WAL_CORRUPTION WalError holding one Damage', () => {
    const cause = new Error('inner');
    const e = new CorruptionError('expected a valid frame, found checksum-mismatch', damage, {
      cause,
    });
    expect(WalError.isInstance(e, ErrorCode.CORRUPTION)).toBe(true);
    expect(e).toBeInstanceOf(WalError);
    expect(e.name).toBe('CorruptionError');
    expect(e.code).toBe('WAL_CORRUPTION');
    expect(e.cause).toBe(cause);
    expect(e.damage).toBe(damage);
    expect([e.file, e.offset, e.reason]).toEqual([
      '/logs/a/wal_00000003.log',
      64,
      'checksum-mismatch',
    ]);
  });
});

describe('describeValue', () => {
  test.each([
    [null, 'null'],
    [undefined, 'undefined'],
    [[1, 2], 'an array of length 2'],
    [new Uint8Array(3), 'a Uint8Array of 3 bytes'],
    [Buffer.alloc(4), 'a Uint8Array of 4 bytes'],
    [7, 'the number 7'],
    ['abc', 'the string "abc"'],
    ['x'.repeat(40), `the string "${'x'.repeat(40)}"`],
    ['x'.repeat(41), 'a string of length 41'],
    [new Map(), 'an object (Map)'],
    [Object.create(null), 'an object (Object)'],
    [10n, 'bigint'],
    [() => 0, 'function'],
  ])('%o is %s', (value, text) => {
    expect(describeValue(value)).toBe(text);
  });

  test('names a Proxy and a subclass without reading through them', () => {
    const traps: string[] = [];
    const spy = (target: object) =>
      new Proxy(target, {
        get(t, key) {
          traps.push(String(key));
          return Reflect.get(t, key);
        },
        getPrototypeOf(t) {
          traps.push('getPrototypeOf');
          return Reflect.getPrototypeOf(t);
        },
      });
    expect(describeValue(spy(new Uint8Array(2)))).toBe('a Proxy');
    expect(describeValue(spy([1, 2]))).toBe('a Proxy');
    expect(traps).toEqual([]);
    class Sneaky extends Uint8Array {
      override get length() {
        return 99;
      }
    }
    expect(describeValue(new Sneaky(3))).toBe('a Uint8Array subclass (Sneaky) of 3 bytes');
  });
});
