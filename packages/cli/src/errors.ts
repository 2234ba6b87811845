import { ErrorCode, WalError } from '@wal/codec';
import { Exit } from './command.js';

/**
 * A mistake in how the command was called: exit code 2. `help` adds
 * "see 'wal <command> --help'" to the line.
 */
export class UsageError extends Error {
  readonly help: boolean;

  constructor(message: string, options: { help?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.help = options.help ?? true;
  }

  override get name(): string {
    return 'UsageError';
  }
}

/**
 * An operational failure whose message already says everything an operator
 * needs (exit code 3): no "run with --debug" hint is added.
 */
export class CommandError extends Error {
  override get name(): string {
    return 'CommandError';
  }
}

/**
 * The exit code for an error a command threw: damage the mode refuses is 1,
 * a usage error 2, and everything else (a missing log, EACCES, an I/O
 * error, the lock, a log cut by retention while read, a bug) 3.
 */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return Exit.USAGE;
  if (WalError.isInstance(error, ErrorCode.CORRUPTION)) return Exit.DAMAGED;
  return Exit.FAILED;
}

/** True when the message says all there is: no "(run with --debug for details)" hint. */
export function isExplained(error: unknown): boolean {
  return error instanceof UsageError || error instanceof CommandError || WalError.isInstance(error);
}
