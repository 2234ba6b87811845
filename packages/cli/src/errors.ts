import path from 'node:path';
import { ErrorCode, WalError } from '@wal/codec';
import { Exit } from './command.js';
import type { Target } from './target.js';

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

/**
 * A file the operator may not read or write, said the way a path the CLI
 * checks itself is ("<path>: permission denied (EACCES)"), whichever file
 * of the log it was; null for any other error. The file is named from the
 * path the operator gave when it lies inside it.
 */
export function permissionMessage(error: unknown, target: Target | undefined): string | null {
  if (!WalError.isInstance(error, ErrorCode.IO_ERROR)) return null;
  const { code, path: file } = (error.cause ?? {}) as { code?: unknown; path?: unknown };
  if ((code !== 'EACCES' && code !== 'EPERM') || typeof file !== 'string') return null;
  let shown = file;
  if (target && (file === target.path || file.startsWith(`${target.path}${path.sep}`))) {
    shown = path.join(target.arg, path.relative(target.path, file));
  }
  return `${shown}: permission denied (${code})`;
}
