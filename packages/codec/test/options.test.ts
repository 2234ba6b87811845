import { ErrorCode, WalError } from '@wal/codec';
import {
  boolean,
  integer,
  oneOf,
  option,
  orNull,
  parseOptions,
  pathString,
  required,
} from '@wal/codec/internal';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

const table = {
  name: required(pathString),
  mode: option(oneOf(['fast', 'safe']), 'safe'),
  size: option(integer(2, 10), 4),
  limit: option(integer(0)),
  checkpoint: option(orNull(integer(1)), null),
  dryRun: option(boolean, false),
};

function refusal(input: unknown): string {
  try {
    parseOptions('test', table, input);
  } catch (error) {
    expect(WalError.isInstance(error, ErrorCode.INVALID_OPTIONS)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('parseOptions', () => {
  test('fills every default, and leaves an option without one undefined', () => {
    expect(parseOptions('test', table, { name: 'a' })).toEqual({
      name: 'a',
      mode: 'safe',
      size: 4,
      limit: undefined,
      checkpoint: null,
      dryRun: false,
    });
  });

  test('an option given as undefined takes its default', () => {
    expect(parseOptions('test', table, { name: 'a', size: undefined }).size).toBe(4);
  });

  test('undefined options are all defaults; a table without required options takes them', () => {
    expect(parseOptions('test', { dryRun: option(boolean, false) }, undefined)).toEqual({
      dryRun: false,
    });
  });

  test.each([
    [{ name: 'a', size: 1 }, 'size: expected an integer from 2 to 10, found the number 1'],
    [{ name: 'a', size: 2.5 }, 'size: expected an integer from 2 to 10, found the number 2.5'],
    [{ name: 'a', limit: -1 }, 'limit: expected a non-negative safe integer, found the number -1'],
    [
      { name: 'a', limit: 2 ** 53 },
      'limit: expected a non-negative safe integer, found the number 9007199254740992',
    ],
    [
      { name: 'a', limit: Number.NaN },
      'limit: expected a non-negative safe integer, found the number NaN',
    ],
    [
      { name: 'a', checkpoint: 0 },
      'checkpoint: expected null or a positive safe integer, found the number 0',
    ],
    [
      { name: 'a', mode: 'quick' },
      `mode: expected one of 'fast', 'safe', found the string "quick"`,
    ],
    [{ name: 'a', dryRun: 'yes' }, 'dryRun: expected a boolean, found the string "yes"'],
    [{ name: '' }, 'name: expected a non-empty path without NUL bytes, found the string ""'],
    [
      { name: 'a\0b' },
      'name: expected a non-empty path without NUL bytes, found the string "a\\u0000b"',
    ],
    [{}, 'name: expected a non-empty path without NUL bytes, found undefined'],
    [
      { name: 'a', nmae: 'b' },
      'nmae: expected one of name, mode, size, limit, checkpoint, dryRun, found an unknown option',
    ],
    [null, 'options: expected an object, found null'],
    [[], 'options: expected an object, found an array of length 0'],
    ['a', 'options: expected an object, found the string "a"'],
  ])('%j: "expected valid test options, found %s"', (input, found) => {
    expect(refusal(input)).toBe(`expected valid test options, found ${found}`);
  });

  test('every bad option is named, unknown ones first', () => {
    expect(refusal({ extra: 1, name: 'a', size: 0, mode: 1 })).toBe(
      'expected valid test options, found extra: expected one of name, mode, size, limit, checkpoint, dryRun, found an unknown option; ' +
        "mode: expected one of 'fast', 'safe', found the number 1; " +
        'size: expected an integer from 2 to 10, found the number 0',
    );
  });

  test('integer(min, max) accepts exactly the integers in [min, max]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -100, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        fc.oneof(fc.double({ noDefaultInfinity: false }), fc.integer({ min: -300, max: 300 })),
        (min, span, value) => {
          const max = min + span;
          expect(integer(min, max).test(value)).toBe(
            Number.isInteger(value) && value >= min && value <= max,
          );
        },
      ),
    );
  });

  test('the input is not changed, and the result is a new object', () => {
    const input = { name: 'a', size: 3 };
    const resolved = parseOptions('test', table, input);
    expect(input).toEqual({ name: 'a', size: 3 });
    expect(resolved).not.toBe(input);
  });
});
