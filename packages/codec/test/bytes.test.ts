import {
  ErrorCode,
  isIndex,
  MAX_SEQUENCE,
  readU32,
  readU64,
  toBytes,
  WalError,
  writeU32,
  writeU64,
} from '@wal/codec';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

describe('little-endian integers', () => {
  test('u32 round-trips at any offset and matches DataView', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), fc.nat({ max: 8 }), (value, offset) => {
        const buf = new Uint8Array(12);
        writeU32(buf, offset, value);
        expect(readU32(buf, offset)).toBe(value);
        expect(new DataView(buf.buffer).getUint32(offset, true)).toBe(value);
      }),
    );
  });

  test('u64 round-trips every safe integer and matches BigInt', () => {
    fc.assert(
      fc.property(fc.oneof(fc.maxSafeNat(), fc.constant(MAX_SEQUENCE), fc.nat()), (value) => {
        const buf = new Uint8Array(8);
        writeU64(buf, 0, value);
        expect(readU64(buf, 0)).toBe(value);
        expect(new DataView(buf.buffer).getBigUint64(0, true)).toBe(BigInt(value));
      }),
    );
  });

  test('a u64 above 2^53 - 1 reads as -1, never as a rounded number', () => {
    const buf = new Uint8Array(8);
    for (const big of [2n ** 53n, 2n ** 53n + 1n, 2n ** 64n - 1n]) {
      new DataView(buf.buffer).setBigUint64(0, big, true);
      expect(readU64(buf, 0)).toBe(-1);
    }
  });

  test('isIndex accepts integers in [0, max] only', () => {
    expect([0, 5, MAX_SEQUENCE].map((n) => isIndex(n))).toEqual([true, true, true]);
    expect([-1, 0.5, 2 ** 53, Number.NaN, '1', 1n, null].map((n) => isIndex(n))).toEqual(
      Array(7).fill(false),
    );
    expect([isIndex(10, 10), isIndex(11, 10)]).toEqual([true, false]);
  });
});

describe('toBytes', () => {
  test('encodes strings as UTF-8 and returns bytes as they are', () => {
    expect([...toBytes('é€', 'key')]).toEqual([0xc3, 0xa9, 0xe2, 0x82, 0xac]);
    const bytes = new Uint8Array([1, 2]);
    expect(toBytes(bytes, 'key')).toBe(bytes);
  });

  test('anything else is WAL_INVALID_ARGUMENT naming the argument', () => {
    let thrown: unknown;
    try {
      toBytes(5, 'value');
    } catch (e) {
      thrown = e;
    }
    expect(WalError.isInstance(thrown, ErrorCode.INVALID_ARGUMENT)).toBe(true);
    expect((thrown as Error).message).toBe(
      'expected value to be a Uint8Array or a string, found the number 5',
    );
  });

  test('a Proxy of a Uint8Array is refused without running a trap', () => {
    let traps = 0;
    const proxy = new Proxy(new Uint8Array([1, 2]), {
      get(target, key) {
        traps++;
        return Reflect.get(target, key);
      },
      getPrototypeOf(target) {
        traps++;
        return Reflect.getPrototypeOf(target);
      },
    });
    expect(() => toBytes(proxy, 'key')).toThrow(
      'expected key to be a Uint8Array or a string, found a Proxy',
    );
    expect(traps).toBe(0);
  });

  test('a subclass comes back as a plain Uint8Array over the bytes it holds, whatever its length says', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(1000), fc.nat(8), (bytes, lie, at) => {
        const backing = new Uint8Array(bytes.length + 16);
        backing.set(bytes, at);
        class Sneaky extends Uint8Array {
          override get length() {
            return lie;
          }
        }
        const sneaky = new Sneaky(backing.buffer, at, bytes.length);
        const out = toBytes(sneaky, 'value');
        expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype);
        expect(out.buffer).toBe(backing.buffer);
        expect(out.byteOffset).toBe(at);
        expect([...out]).toEqual([...bytes]);
      }),
    );
  });
});
