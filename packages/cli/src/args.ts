import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {
  override get name(): string {
    return 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  debug: { type: 'boolean' },
} as const satisfies Options;

/** Parsed option values: strings and booleans by option name. */
export type Values = Record<string, string | boolean | undefined>;

/** parseArgs with one positional `<dir>`, turning its errors into usage errors. */
export function parseCommand(
  command: string,
  argv: string[],
  options: Options,
): { dir: string | undefined; values: Values } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...COMMON_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message}`);
  }
  if (parsed.positionals.length > 1) {
    throw new UsageError(
      `${command}: expected one log directory, found ${parsed.positionals.length} arguments`,
    );
  }
  return { dir: parsed.positionals[0], values: parsed.values as Values };
}

/** A non-negative integer option, or a usage error naming it. */
export function integerOption(name: string, value: string | undefined, fallback: number): number {
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
