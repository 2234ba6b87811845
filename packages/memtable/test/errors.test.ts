import { ErrorCode, WalError } from '@wal/codec';
import { Memtable } from '@wal/memtable';
import { describe, expect, test } from 'vitest';
import { render } from './model.js';

const invalid = (code: string) => expect.objectContaining({ code, name: 'WalError' });

/** A table with one entry of each kind and a lastSequence, to check bad calls change nothing. */
function sample(): Memtable {
  const table = new Memtable();
  table.apply({ sequence: 4, type: 'put', key: Buffer.from('k'), value: Buffer.from('v') });
  table.delete('gone');
  return table;
}

function expectUnchanged(table: Memtable, act: () => unknown): void {
  const before = [render(table.entries()), table.size, table.sizeBytes, table.lastSequence];
  expect(act).toThrow(invalid(ErrorCode.INVALID_ARGUMENT));
  expect([render(table.entries()), table.size, table.sizeBytes, table.lastSequence]).toEqual(
    before,
  );
}

const notBytes: [string, unknown][] = [
  ['a number', 1],
  ['null', null],
  ['undefined', undefined],
  ['an array of numbers', [1, 2]],
  ['an ArrayBuffer', new ArrayBuffer(2)],
  ['a Uint16Array', new Uint16Array(2)],
  ['an object', { length: 0 }],
];

describe('keys and values that are neither bytes nor strings: WAL_INVALID_ARGUMENT, nothing changed', () => {
  test.each(notBytes)('%s', (_, bad) => {
    const table = sample();
    const arg = bad as never;
    expectUnchanged(table, () => table.put(arg, 'v'));
    expectUnchanged(table, () => table.put('k', arg));
    expectUnchanged(table, () => table.delete(arg));
    expectUnchanged(table, () => table.get(arg));
    expectUnchanged(table, () => table.has(arg));
  });

  test.each(notBytes.filter(([, v]) => v !== undefined))(
    'range bound: %s (thrown at the call)',
    (_, bad) => {
      const table = sample();
      expectUnchanged(table, () => table.range(bad as never));
      expectUnchanged(table, () => table.range('a', bad as never));
    },
  );
});

describe('malformed entries: WAL_INVALID_ARGUMENT, nothing changed, also when old', () => {
  const key = Buffer.from('x');
  const bad: [string, unknown][] = [
    ['not an object', 'put x'],
    ['null', null],
    ['a negative sequence', { sequence: -1, type: 'put', key, value: key }],
    ['a fractional sequence', { sequence: 5.5, type: 'put', key, value: key }],
    ['a sequence above 2^53 - 1', { sequence: 2 ** 53, type: 'put', key, value: key }],
    ['a sequence that is a string', { sequence: '5', type: 'put', key, value: key }],
    ['an unknown type', { sequence: 5, type: 'merge', key, value: key }],
    ['a put without a value', { sequence: 5, type: 'put', key }],
    ['a key that is not bytes', { sequence: 5, type: 'delete', key: 7 }],
    ['an old entry with a bad value', { sequence: 1, type: 'put', key, value: 7 }],
  ];
  test.each(bad)('%s', (_, entry) => {
    const table = sample();
    expectUnchanged(table, () => table.apply(entry as never));
  });
});

describe('options: WAL_INVALID_OPTIONS', () => {
  const bad: [string, unknown][] = [
    ['zero', { maxSizeBytes: 0 }],
    ['negative', { maxSizeBytes: -1 }],
    ['fractional', { maxSizeBytes: 1.5 }],
    ['NaN', { maxSizeBytes: Number.NaN }],
    ['Infinity', { maxSizeBytes: Number.POSITIVE_INFINITY }],
    ['above 2^53 - 1', { maxSizeBytes: 2 ** 53 }],
    ['a string', { maxSizeBytes: '64MB' }],
    ['a misspelt option', { maxSizebytes: 10 }],
    ['options that are a number', 64],
    ['options that are null', null],
    ['options that are an array', []],
  ];
  test.each(bad)('%s', (_, options) => {
    expect(() => new Memtable(options as never)).toThrow(invalid(ErrorCode.INVALID_OPTIONS));
  });

  test('the message names the option and what was found', () => {
    try {
      new Memtable({ maxSizeBytes: -5 });
      expect.unreachable();
    } catch (error) {
      expect(WalError.isInstance(error, ErrorCode.INVALID_OPTIONS)).toBe(true);
      expect((error as Error).message).toContain('maxSizeBytes');
      expect((error as Error).message).toContain('-5');
    }
  });
});
