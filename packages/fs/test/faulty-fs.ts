// A WalFs that records every call, tracks open handles and fails calls on
// demand, wrapping another WalFs (the real node:fs implementation by default).
import { nodeFs, WAL_FS_METHODS, type WalFs } from '@wal/fs';
import { wrapMethods } from '@wal/test-support';

export type Op = keyof WalFs;

export interface Call {
  op: Op;
  args: unknown[];
}

interface Rule {
  op: Op | '*';
  when: (args: unknown[]) => boolean;
  times: number;
  act: (args: unknown[]) => Promise<unknown>;
}

/** An errno-style error, as node:fs rejects with. */
export function errno(code: string, syscall = 'write'): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected fault, ${syscall}`), { code, syscall });
}

export class FaultyFs {
  readonly calls: Call[] = [];
  /** Handles opened through this fs and not yet closed: fd -> path (renames followed). */
  readonly openHandles = new Map<number, string>();
  readonly fs: WalFs;
  #rules: Rule[] = [];

  /** Handles opened 'r+dsync': their writes are followed by their own sync. */
  readonly #durable = new Set<number>();

  constructor(base: WalFs = nodeFs) {
    this.fs = wrapMethods(base, WAL_FS_METHODS, async (op, args, real) => {
      this.calls.push({ op, args });
      let result: unknown;
      const rule = this.#take(op, args);
      if (rule) {
        // Like close(2), a failing close still releases the handle.
        if (op === 'close') {
          await real(...args).catch(() => undefined);
          this.openHandles.delete(args[0] as number);
          this.#durable.delete(args[0] as number);
        }
        result = await rule.act(args);
      } else {
        result = await real(...args);
      }
      // A write on a durable handle syncs its range: that sync is counted,
      // and fails, as an fdatasync of the handle (its bytes written, as when
      // the sync of an O_DSYNC write fails).
      if (op === 'write' && this.#durable.has(args[0] as number)) {
        const sync = [args[0]];
        this.calls.push({ op: 'fdatasync', args: sync });
        await this.#take('fdatasync', sync)?.act(sync);
      }
      if (op === 'open') {
        this.openHandles.set(result as number, args[0] as string);
        if (args[1] === 'r+dsync') this.#durable.add(result as number);
      }
      if (op === 'close') {
        this.openHandles.delete(args[0] as number);
        this.#durable.delete(args[0] as number);
      }
      if (op === 'rename') {
        for (const [fd, p] of this.openHandles)
          if (p === args[0]) this.openHandles.set(fd, args[1] as string);
      }
      return result;
    });
  }

  /**
   * Makes the next `times` calls of `op` (`'*'`: any op) that match `when`
   * reject with errno `code`.
   */
  fail(
    op: Op | '*',
    code: string,
    options: { times?: number; when?: (args: unknown[]) => boolean } = {},
  ): this {
    return this.#add(op, options, async () => {
      throw errno(code, op);
    });
  }

  /** Makes the next write really write only its first `bytes` bytes and resolve to that. */
  shortWrite(bytes: number): this {
    return this.#add('write', {}, (args) => {
      const [fd, buffer, position] = args as [number, Uint8Array, number];
      return nodeFs.write(fd, buffer.subarray(0, bytes), position);
    });
  }

  /** Removes every pending fault. */
  heal(): void {
    this.#rules = [];
  }

  /** How many calls of `op` were made. */
  count(op: Op): number {
    return this.calls.filter((c) => c.op === op).length;
  }

  /** Index of the first call of `op` at or after `from`, or -1. */
  indexOf(op: Op, from = 0, when: (args: unknown[]) => boolean = () => true): number {
    return this.calls.findIndex((c, i) => i >= from && c.op === op && when(c.args));
  }

  /** The path a handle was opened on (renames followed), for `when` filters. */
  pathOf(target: unknown): string {
    return String(typeof target === 'number' ? this.openHandles.get(target) : target);
  }

  #take(op: Op, args: unknown[]): Rule | undefined {
    const rule = this.#rules.find(
      (r) => (r.op === op || r.op === '*') && r.times > 0 && r.when(args),
    );
    if (rule) rule.times--;
    return rule;
  }

  #add(
    op: Op | '*',
    options: { times?: number; when?: (args: unknown[]) => boolean },
    act: (args: unknown[]) => Promise<unknown>,
  ): this {
    this.#rules.push({ op, when: options.when ?? (() => true), times: options.times ?? 1, act });
    return this;
  }
}
