/**
 * A mistake in how the command was called, or a path that holds no log:
 * exit code 2. `help` adds "see 'wal <command> --help'" to the line.
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
 * A failure whose message already says everything an operator needs
 * (exit code 1): no "run with --debug" hint is added.
 */
export class CommandError extends Error {
  override get name(): string {
    return 'CommandError';
  }
}
