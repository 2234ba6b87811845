import { once } from 'node:events';
import path from 'node:path';
import { styleText } from 'node:util';
import type { WalFs } from '@wal/fs';
import { QUARANTINE_DIR } from '@wal/recovery';

/** The streams, environment and file system a command runs with (process's, or a test's). */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** The file system to read and repair through. Default: `nodeFs` of `@wal/fs`. */
  fs?: WalFs;
}

type Style = Parameters<typeof styleText>[0];

/**
 * Writes to stdout and stderr. Colour only when the stream is a TTY and
 * NO_COLOR is unset; the progress line only when stderr is a TTY. The first
 * error writing stdout stops it: nothing more is written, and commands
 * check {@link Output.stopped} to end early.
 */
export class Output {
  readonly #io: Io;
  readonly #colour: { out: boolean; err: boolean };
  #progressShown = false;
  #stdoutError: NodeJS.ErrnoException | null = null;

  constructor(io: Io) {
    this.#io = io;
    // no-color.org: NO_COLOR set to a non-empty value turns colour off.
    const allowed = !io.env.NO_COLOR && io.env.TERM !== 'dumb';
    this.#colour = { out: allowed && !!io.stdout.isTTY, err: allowed && !!io.stderr.isTTY };
    // Without a listener the error would be thrown, uncaught, from the stream.
    io.stdout.on('error', (error: NodeJS.ErrnoException) => {
      this.#stdoutError ??= error;
    });
    // Diagnostics that cannot be written have nowhere else to go: the exit
    // code still tells (`wal verify x 2>&1 | head -1` must not turn a
    // missing log's 3 into an uncaught EPIPE's 1).
    io.stderr.on('error', () => {});
  }

  /** True once writing stdout failed, or its reader went away: there is no point going on. */
  get stopped(): boolean {
    return this.#stdoutError !== null;
  }

  /**
   * The error that stopped stdout, unless it was the reader going away
   * (EPIPE: `wal dump | head`), which is how a pipe ends, not a failure.
   */
  get failure(): NodeJS.ErrnoException | null {
    return this.#stdoutError?.code === 'EPIPE' ? null : this.#stdoutError;
  }

  /** Styles text for stdout (plain when colour is off). */
  style(format: Style, text: string): string {
    return this.#colour.out ? paint(format, text) : text;
  }

  styleErr(format: Style, text: string): string {
    return this.#colour.err ? paint(format, text) : text;
  }

  /** Writes to stdout, waiting when the pipe is full (so dumps stream); nothing once stopped. */
  async write(text: string): Promise<void> {
    if (this.stopped) return;
    this.clearProgress();
    const { stdout } = this.#io;
    if (stdout.write(text)) return;
    // A failed write emits 'error', not 'drain': the listener above records it.
    await once(stdout, 'drain').catch(() => {});
  }

  line(text = ''): Promise<void> {
    return this.write(`${text}\n`);
  }

  error(text: string): void {
    this.clearProgress();
    this.#io.stderr.write(`${text}\n`);
  }

  /** True when stderr is a terminal: the only place a progress line goes. */
  get showsProgress(): boolean {
    return !!this.#io.stderr.isTTY;
  }

  /** A transient status line on stderr, shown only on a TTY. */
  progress(text: string): void {
    if (!this.showsProgress) return;
    this.#io.stderr.write(`\r\x1b[2K${this.styleErr('dim', text)}`);
    this.#progressShown = true;
  }

  clearProgress(): void {
    if (!this.#progressShown) return;
    this.#io.stderr.write('\r\x1b[2K');
    this.#progressShown = false;
  }
}

// The decision is ours, made per stream: by default styleText (Node 20.20,
// 22.13+) checks process.stdout and process.env instead, which colours stderr
// by stdout's TTY and ignores the streams a caller passes in.
function paint(format: Style, text: string): string {
  return styleText(format, text, { validateStream: false });
}

/** Left-aligned text columns, right-aligned numbers. */
export function formatTable(header: string[], rows: string[][], numeric: boolean[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (text: string, i: number) =>
    numeric[i] ? text.padStart(widths[i] as number) : text.padEnd(widths[i] as number);
  return [header, ...rows].map((r) => r.map(cell).join('  ').trimEnd());
}

/** `path` as one shell word, so a suggested command can be pasted as is. */
export function shellArg(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`;
}

/** `count(1, 'entry', 'entries')` → "1 entry"; the plural defaults to adding an s. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * A hole repair recorded: "sequence 10 was lost to damage; repair incident 1
 * kept the bytes in data/wal/quarantine/1". `dir` is the log directory as
 * given, when known (a lone file's log is not).
 */
export function lostText(
  hole: { firstSequence: number; nextSequence: number; incident: number },
  dir: string | null,
): string {
  const one = hole.nextSequence - hole.firstSequence === 1;
  const sequences = `${one ? 'sequence' : 'sequences'} ${formatSequences(hole.firstSequence, hole.nextSequence)}`;
  const where =
    dir === null
      ? `${QUARANTINE_DIR}/${hole.incident} of its log`
      : path.join(dir, QUARANTINE_DIR, String(hole.incident));
  return `${sequences} ${one ? 'was' : 'were'} lost to damage; repair incident ${hole.incident} kept the bytes in ${where}`;
}

/** Sequences `first` up to (not including) `next`: "10" or "10-19". */
export function formatSequences(first: number, next: number): string {
  return next - first === 1 ? String(first) : `${first}-${next - 1}`;
}
