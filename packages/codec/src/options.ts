import { describeValue, ErrorCode, WalError } from './errors.js';

// Options validation for every @wal package, one way: a table of options,
// each with a test, a phrase for what it accepts and a default. Hand-written
// rather than zod, which cost @wal/fs most of its import time (see
// CONTRIBUTING.md, "Import time").

/** A kind of value: a phrase for messages ("a positive safe integer") and its test. */
export interface Kind<T> {
  readonly expected: string;
  readonly test: (value: unknown) => value is T;
  /** What a value that passed `test` resolves to (a nested object: its defaults filled in). */
  resolve?(value: T): T;
}

/** One option: the kind of value it takes, and its default (or that it is required). */
export interface Option<T> extends Kind<unknown> {
  readonly fallback: T;
  readonly required: boolean;
}

/** A table of options, by name. */
export type OptionTable = Readonly<Record<string, Option<unknown>>>;

/** The options a table accepts, after validation: every default filled in. */
export type ResolvedOptions<T extends OptionTable> = {
  -readonly [K in keyof T]: T[K] extends Option<infer V> ? V : never;
};

/** An option without a default: `undefined` when not given. */
export function option<T>(kind: Kind<T>): Option<T | undefined>;
/** An option with a default. */
export function option<T>(kind: Kind<T>, fallback: NoInfer<T>): Option<T>;
export function option<T>(kind: Kind<T>, fallback?: T): Option<T | undefined> {
  return { ...kind, fallback, required: false };
}

/** An option that must be given. */
export function required<T>(kind: Kind<T>): Option<T> {
  return { ...kind, fallback: undefined as T, required: true };
}

/** An integer in [min, max]. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): Kind<number> {
  const expected =
    max !== Number.MAX_SAFE_INTEGER
      ? `an integer from ${min} to ${max}`
      : min === 0
        ? 'a non-negative safe integer'
        : min === 1
          ? 'a positive safe integer'
          : `a safe integer of at least ${min}`;
  const test = (value: unknown): value is number =>
    Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
  return { expected, test };
}

/** One of the given strings. */
export function oneOf<const T extends string>(values: readonly T[]): Kind<T> {
  const expected = `one of ${values.map((value) => `'${value}'`).join(', ')}`;
  const test = (value: unknown): value is T => values.includes(value as T);
  return { expected, test };
}

/** `kind`, or null. */
export function orNull<T>(kind: Kind<T>): Kind<T | null> {
  const test = (value: unknown): value is T | null => value === null || kind.test(value);
  return { expected: `null or ${kind.expected}`, test };
}

/** A boolean. */
export const boolean: Kind<boolean> = {
  expected: 'a boolean',
  test: (value): value is boolean => typeof value === 'boolean',
};

/**
 * A path: a non-empty string without NUL bytes. (A NUL byte can be in no
 * path: the file system would refuse it at the first call, as an I/O error,
 * where it is a bad argument.)
 */
export const pathString: Kind<string> = {
  expected: 'a non-empty path without NUL bytes',
  test: (value): value is string =>
    typeof value === 'string' && value.length > 0 && !value.includes('\0'),
};

/** `value` when it is a {@link pathString}; else `WAL_INVALID_ARGUMENT` naming the argument `what`. */
export function checkPath(value: unknown, what: string): string {
  if (pathString.test(value)) return value;
  throw new WalError(
    ErrorCode.INVALID_ARGUMENT,
    `expected ${what} to be ${pathString.expected}, found ${describeValue(value)}`,
  );
}

/**
 * Validates `input` (an object, or undefined for all defaults) against
 * `table`. Unknown keys are refused, so a misspelt option is not silently
 * ignored. Throws `WAL_INVALID_OPTIONS` naming every bad option:
 * "expected valid Wal options, found sync: expected one of …, found …".
 */
export function parseOptions<T extends OptionTable>(
  what: string,
  table: T,
  input: unknown,
): ResolvedOptions<T> {
  if (input === undefined) input = {};
  if (!isRecord(input)) {
    throw invalidOptions(what, [problem('options', 'an object', describeValue(input))]);
  }
  const { resolved, problems } = check(table, input);
  if (problems.length > 0) throw invalidOptions(what, problems);
  return resolved;
}

/** The options of `table` with every default filled in (for a nested object's own default). */
export function defaults<T extends OptionTable>(table: T): ResolvedOptions<T> {
  return parseOptions('default', table, {});
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Checks `given` against `table`: what it resolves to, and every problem found.
function check<T extends OptionTable>(
  table: T,
  given: Record<string, unknown>,
): { resolved: ResolvedOptions<T>; problems: string[] } {
  const names = Object.keys(table);
  const problems = Object.keys(given)
    .filter((key) => !Object.hasOwn(table, key))
    .map((key) => problem(key, `one of ${names.join(', ')}`, 'an unknown option'));
  const resolved: Record<string, unknown> = {};
  for (const name of names) {
    const { expected, test, resolve, fallback, required } = table[name] as Option<unknown>;
    const value = given[name];
    if (value === undefined && !required) resolved[name] = fallback;
    else if (test(value)) resolved[name] = resolve ? resolve(value) : value;
    else problems.push(problem(name, expected, describeValue(value)));
  }
  return { resolved: resolved as ResolvedOptions<T>, problems };
}

/** "name: expected X, found Y", one entry of an options message. */
export function problem(name: string, expected: string, found: string): string {
  return `${name}: expected ${expected}, found ${found}`;
}

/** The `WAL_INVALID_OPTIONS` error for a `what` call: "expected valid X options, found …". */
export function invalidOptions(what: string, problems: readonly string[]): WalError {
  return new WalError(
    ErrorCode.INVALID_OPTIONS,
    `expected valid ${what} options, found ${problems.join('; ')}`,
  );
}

/** An instance of `type`, described as `expected` ("a Wal from @wal/fs"). */
export function instanceOf<T>(
  type: { readonly prototype: T; [Symbol.hasInstance](value: unknown): boolean },
  expected: string,
): Kind<T> {
  return { expected, test: (value): value is T => value instanceof type };
}

/** Either kind (resolved as the first one it passes). */
export function either<A, B>(a: Kind<A>, b: Kind<B>): Kind<A | B> {
  const test = (value: unknown): value is A | B => a.test(value) || b.test(value);
  const resolve = (value: A | B): A | B => {
    if (a.test(value)) return a.resolve ? a.resolve(value) : value;
    return b.resolve ? b.resolve(value as B) : value;
  };
  return { expected: `${a.expected} or ${b.expected}`, test, resolve };
}

/** A string matching `pattern`, described as `expected`. */
export function matching(pattern: RegExp, expected: string): Kind<string> {
  return {
    expected,
    test: (value): value is string => typeof value === 'string' && pattern.test(value),
  };
}

/**
 * A nested object of the options in `table`, checked as {@link parseOptions}
 * checks them (no unknown keys) and resolved with its defaults filled in.
 */
export function object<T extends OptionTable>(table: T): Kind<ResolvedOptions<T>> {
  const fields = Object.entries(table)
    .map(([name, o]) => `${name}${o.required ? '' : '?'}: ${o.expected}`)
    .join('; ');
  const test = (value: unknown): value is ResolvedOptions<T> =>
    isRecord(value) && check(table, value).problems.length === 0;
  const resolve = (value: ResolvedOptions<T>) => check(table, value).resolved;
  return { expected: `an object { ${fields} }`, test, resolve };
}
