import type { Output } from './output.js';

/** A `wal` subcommand. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The full `--help` text. */
  help: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(argv: string[], out: Output): Promise<number>;
}

/** Exit codes: the contract scripts rely on. */
export const Exit = {
  OK: 0,
  /** Damage found (verify), or the operation failed. */
  FAILED: 1,
  /** The command was called wrongly: bad flags, a path that is not a log. */
  USAGE: 2,
} as const;
