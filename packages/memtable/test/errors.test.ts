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
  // Refused by its internal slots, so none of its traps runs.
  ['a Proxy of a Uint8Array', new Proxy(new Uint8Array(2), {})],
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
});

describe('range options: WAL_INVALID_OPTIONS at the call, naming what was expected and found', () => {
  const bad: [string, unknown, string][] = [
    ['options that are a string', 'a', 'options: expected an object, found the string "a"'],
    ['options that are null', null, 'options: expected an object, found null'],
    ['options that are an array', [], 'options: expected an object, found an array of length 0'],
    [
      'an unknown option',
      { start: 'a' },
      'start: expected one of gt, gte, lt, lte, reverse, limit',
    ],
    ['both gt and gte', { gt: 'a', gte: 'b' }, 'gt, gte: expected at most one, found both'],
    ['both lt and lte', { lt: 'a', lte: 'a' }, 'lt, lte: expected at most one, found both'],
    [
      'a bound that is a number',
      { gt: 5 },
      'gt: expected a Uint8Array or a string, found the number 5',
    ],
    ['a bound that is null', { lte: null }, 'lte: expected a Uint8Array or a string, found null'],
    ['an ArrayBuffer bound', { lt: new ArrayBuffer(1) }, 'lt: expected a Uint8Array or a string'],
    [
      'reverse that is a string',
      { reverse: 'yes' },
      'reverse: expected a boolean, found the string "yes"',
    ],
    [
      'a negative limit other than -1',
      { limit: -2 },
      'limit: expected a non-negative integer, -1 or Infinity, found the number -2',
    ],
    ['a fractional limit', { limit: 1.5 }, 'found the number 1.5'],
    ['a NaN limit', { limit: Number.NaN }, 'found the number NaN'],
    ['-Infinity', { limit: Number.NEGATIVE_INFINITY }, 'found the number -Infinity'],
    ['a limit that is a string', { limit: '3' }, 'limit: expected a non-negative integer'],
  ];
  test.each(bad)('%s', (_, options, message) => {
    const table = sample();
    const before = [render(table.entries()), table.size, table.sizeBytes, table.lastSequence];
    let thrown: unknown;
    try {
      table.range(options as never);
    } catch (error) {
      thrown = error;
    }
    expect(WalError.isInstance(thrown, ErrorCode.INVALID_OPTIONS)).toBe(true);
    expect((thrown as Error).message).toMatch(/^expected valid range options, found /);
    expect((thrown as Error).message).toContain(message);
    expect([render(table.entries()), table.size, table.sizeBytes, table.lastSequence]).toEqual(
      before,
    );
  });
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
    ['incident 0 (incidents count from 1)', { incident: 0 }],
    ['a fractional incident', { incident: 1.5 }],
    ['an incident that is a string', { incident: '1' }],
    ['options that are a number', 64],
    ['options that are null', null],
    ['options that are an array', []],
  ];
  test.each(bad)('%s', (_, options) => {
    expect(() => new Memtable(options as never)).toThrow(invalid(ErrorCode.INVALID_OPTIONS));
  });

  test.each([
    [{ maxSizeBytes: -5 }, 'maxSizeBytes: expected a positive safe integer, found the number -5'],
    [
      { lastSequence: '3' },
      'lastSequence: expected null or a non-negative safe integer, found the string "3"',
    ],
    [
      { maxSizebytes: 10 },
      'maxSizebytes: expected one of maxSizeBytes, lastSequence, logId, incident, found an unknown option',
    ],
    [7, 'options: expected an object, found the number 7'],
  ])(
    'the message names the option, what was expected and what was found: %j',
    (options, message) => {
      expect(() => new Memtable(options as never)).toThrow(
        `expected valid Memtable options, found ${message}`,
      );
    },
  );
});
