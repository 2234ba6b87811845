import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './errors.js';

/** A command's options, as parseArgs takes them. */
export type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Options every command accepts. `main` reads `--help` and `--debug` from
 * the parsed line, so an option's value (`--key -h`) or a path after `--`
 * is never taken for either.
 */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
} as const satisfies Options;

/** Parsed option values: strings and booleans by option name. */
export type Values = Record<string, string | boolean | undefined>;

/** A command's line, parsed: its one path (if given) and its option values. */
export interface CommandLine {
  arg: string | undefined;
  values: Values;
}

/**
 * parseArgs with one positional path (a log directory, or a file). It runs non-strict and checks the
 * tokens itself: strict mode's messages span several lines and talk about
 * parseArgs, and it refuses `--limit -1` as "ambiguous" where the useful
 * answer is that -1 is not a count. A line asking for help is not checked:
 * `wal dump --bogus -h` prints the help.
 */
export function parseCommand(command: string, argv: string[], options: Options): CommandLine {
  const all: Options = { ...COMMON_OPTIONS, ...options };
  const { positionals, tokens, values } = parseArgs({
    args: argv,
    options: all,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  if (values.help) return { arg: positionals[0], values: values as Values };
  // Given twice, a single value is a mistake: parseArgs would keep the last one.
  const given = new Map<string, string>();
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const option = all[token.name];
    if (!option) throw new UsageError(`${command}: unknown option '${token.rawName}'`);
    if (option.type === 'boolean' && token.value !== undefined) {
      throw new UsageError(`${command}: ${token.rawName} takes no value, found '${token.value}'`);
    }
    if (option.type === 'string' && token.value === undefined) {
      throw new UsageError(`${command}: ${token.rawName} needs a value`);
    }
    if (option.type === 'string' && !option.multiple) {
      const first = given.get(token.name);
      if (first !== undefined) {
        throw new UsageError(
          `${command}: expected ${token.rawName} once, found '${first}' and '${token.value}'`,
        );
      }
      given.set(token.name, token.value as string);
    }
  }
  if (positionals.length > 1) {
    throw new UsageError(
      `${command}: expected one path, found ${positionals.length} arguments (${positionals.join(' ')})`,
    );
  }
  return { arg: positionals[0], values: values as Values };
}

/** A non-negative integer option, or a usage error naming it. */
export function integerOption(name: string, value: string | undefined, fallback: number): number;
export function integerOption(name: string, value: string | undefined): number | undefined;
export function integerOption(
  name: string,
  value: string | undefined,
  fallback?: number,
): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new UsageError(`--${name}: expected a non-negative integer, found '${value}'`);
  }
  return n;
}

/** One of `choices`, or a usage error naming them. */
export function choiceOption<T extends string>(
  name: string,
  value: string | undefined,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${name}: expected one of ${choices.join(', ')}, found '${value}'`);
}
