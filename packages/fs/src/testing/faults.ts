import type { WalFs } from '../wal-fs.js';
import { type ErrnoCode, errnoError } from './errno.js';

/** A method of {@link WalFs}: the unit a fault is injected into. */
export type FsOp = keyof WalFs;

/**
 * The errors each operation can plausibly raise: EIO anywhere the device is
 * touched, ENOSPC where space is allocated, EACCES where permissions are checked.
 */
export const FAULT_CODES: Readonly<Record<FsOp, readonly ErrnoCode[]>> = {
  open: ['EACCES', 'ENOSPC', 'EIO'],
  close: ['EIO'],
  read: ['EIO'],
  write: ['ENOSPC', 'EIO'],
  fdatasync: ['EIO', 'ENOSPC'],
  fsyncDir: ['EIO'],
  ftruncate: ['EIO', 'EACCES'],
  fsize: ['EIO'],
  stat: ['EACCES', 'EIO'],
  rename: ['EACCES', 'ENOSPC', 'EIO'],
  unlink: ['EACCES', 'EIO'],
  readdir: ['EACCES', 'EIO'],
  mkdirp: ['EACCES', 'ENOSPC'],
  lock: ['EACCES'],
};

/** Which operations a fault fails, and how. */
export interface FaultSpec {
  /** Fail the nth matching operation from now (1 = the next one). Default 1. */
  nth?: number;
  /** Only count these operations. Default: every operation. */
  ops?: readonly FsOp[];
  /** Keep failing every matching operation after the first failure. Default false. */
  persistent?: boolean;
  /**
   * The error code, or a function picking one from the plausible codes of
   * the failing operation. Default: the first plausible code.
   */
  code?: ErrnoCode | ((op: FsOp, plausible: readonly ErrnoCode[]) => ErrnoCode);
}

/** One injected failure, as it happened. */
export interface FiredFault {
  op: FsOp;
  path: string;
  /** Index of the failing operation in the file system's operation count. */
  index: number;
  error: NodeJS.ErrnoException;
}

/** An armed fault. `fired` lists the failures it caused. */
export class Fault {
  readonly fired: FiredFault[] = [];
  #left: number;
  #active = true;
  readonly #spec: FaultSpec;

  constructor(spec: FaultSpec) {
    const nth = spec.nth ?? 1;
    if (!Number.isInteger(nth) || nth < 1) throw new RangeError(`expected nth >= 1, found ${nth}`);
    this.#spec = spec;
    this.#left = nth;
  }

  /** Stops failing operations (a transient fault that cleared up). */
  disarm(): void {
    this.#active = false;
  }

  get armed(): boolean {
    return this.#active;
  }

  /** The error operation `op` must fail with, or undefined to let it run. */
  check(op: FsOp, path: string, index: number): NodeJS.ErrnoException | undefined {
    if (!this.#active) return undefined;
    if (this.#spec.ops && !this.#spec.ops.includes(op)) return undefined;
    if (this.#left > 1) {
      this.#left--;
      return undefined;
    }
    if (!this.#spec.persistent) this.#active = false;
    const plausible = FAULT_CODES[op];
    const { code } = this.#spec;
    const chosen =
      typeof code === 'function' ? code(op, plausible) : (code ?? (plausible[0] as ErrnoCode));
    const error = errnoError(chosen, op, path);
    this.fired.push({ op, path, index, error });
    return error;
  }
}
