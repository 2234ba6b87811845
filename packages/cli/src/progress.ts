import { WAL_FS_METHODS, type WalFs } from '@wal/fs';
import { count, formatBytes, type Output } from './output.js';
import { type Target, totalBytes } from './target.js';

const MiB = 1024 * 1024;

/**
 * How far a command has got: bytes read (and written) out of the log's size,
 * counted as the file system calls complete, and entries for a scan. Redrawn
 * only when the percent (or the entries) change, so a long run writes at most
 * a few hundred lines to the terminal. Inert (and the file system is not
 * wrapped) unless stderr is a terminal.
 */
export class Progress {
  /** The file system to read through: it counts what is read and written. */
  readonly fs: WalFs;
  readonly #out: Output | null;
  readonly #label: string;
  readonly #total: number | null;
  #read = 0;
  #written = 0;
  #entries: number | null = null;
  #shown = '';

  constructor(fs: WalFs, out: Output | null, label: string, total: number | null) {
    this.#out = out;
    this.#label = label;
    this.#total = total;
    this.fs = out ? this.#counting(fs) : fs;
  }

  /** Starts a progress line for `label` over `target`, or an inert one when stderr is no terminal. */
  static async start(fs: WalFs, out: Output, label: string, target: Target): Promise<Progress> {
    if (!out.showsProgress) return new Progress(fs, null, label, null);
    const total = await totalBytes(fs, target).catch(() => null);
    return new Progress(fs, out, label, total);
  }

  /** Entries read or printed so far. */
  entries(n: number): void {
    this.#entries = n;
    this.#update();
  }

  /** Erases the line (before the command prints its result). */
  done(): void {
    this.#out?.clearProgress();
  }

  #update(): void {
    const out = this.#out;
    if (!out) return;
    const total = this.#total;
    // Redrawn when the bytes read or written move by a percent of the log (a MiB without a size).
    const step = (n: number) => (total ? Math.floor((n * 100) / total) : Math.floor(n / MiB));
    const percent = total ? Math.min(100, step(this.#read)) : null;
    const key = `${percent ?? step(this.#read)} ${step(this.#written)} ${this.#entries}`;
    if (key === this.#shown) return;
    this.#shown = key;
    const parts: string[] = [];
    if (this.#entries !== null) parts.push(count(this.#entries, 'entry', 'entries'));
    parts.push(
      total
        ? `${formatBytes(Math.min(this.#read, total))} of ${formatBytes(total)} (${percent}%)`
        : `${formatBytes(this.#read)} read`,
    );
    if (this.#written > 0) parts.push(`${formatBytes(this.#written)} written`);
    out.progress(`${this.#label}: ${parts.join(', ')}`);
  }

  #counting(fs: WalFs): WalFs {
    // Bound one by one: a class-based WalFs keeps its methods on the prototype.
    const bound = Object.fromEntries(WAL_FS_METHODS.map((m) => [m, fs[m].bind(fs)]));
    return {
      ...(bound as unknown as WalFs),
      read: async (fd, buffer, offset, length, position) => {
        const n = await fs.read(fd, buffer, offset, length, position);
        this.#read += n;
        this.#update();
        return n;
      },
      write: async (fd, buffer, position) => {
        const n = await fs.write(fd, buffer, position);
        this.#written += n;
        this.#update();
        return n;
      },
    };
  }
}
