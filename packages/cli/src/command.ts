import type { WalFs } from '@wal/fs';
import type { CommandLine, Options } from './args.js';
import type { Output } from './output.js';
import type { Target } from './target.js';

/** A `wal` subcommand. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The full `--help` text. */
  help: string;
  /** The options it takes besides `COMMON_OPTIONS` (`--help`, `--json`, `--debug`). */
  options: Options;
  /** Runs with its line parsed (by `parseCommand`); resolves to the exit code. */
  run(line: CommandLine, context: Context): Promise<number>;
}

/** Exit codes: the contract scripts rely on. */
export const Exit = {
  OK: 0,
  /** Damage found: verify's verdict, or damage that stopped a dump or a scan. */
  DAMAGED: 1,
  /** The command was called wrongly: an unknown command or option, a bad value. */
  USAGE: 2,
  /**
   * The command could not do its job: no log at the path, permission denied,
   * an I/O error, a writer holding the lock. Says nothing about the log's bytes.
   */
  FAILED: 3,
} as const;

/** What a command runs with. */
export interface Context {
  out: Output;
  /** The file system every read and repair goes through. */
  fs: WalFs;
  /** The path the command works on, once checked: error messages refer to it. */
  target?: Target;
}
