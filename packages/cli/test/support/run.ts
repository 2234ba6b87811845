// Runs `wal` in-process against fake streams, or as a real child process.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { main } from '@wal/cli';
import type { WalFs } from '@wal/fs';

/** The repository root, where the `pnpm wal` command runs from. */
export const ROOT = path.resolve(import.meta.dirname, '../../../..');
export const BIN = path.join(ROOT, 'packages/cli/src/bin.ts');
/** Node flags that run the CLI from source, as `pnpm wal` does. */
export const SOURCE_FLAGS = ['--conditions=@wal/source', '--import', 'tsx'];

/**
 * A write that fails, as a real stdout's does: with errno `code` (EPIPE: the
 * reader went away; ENOSPC: a full disk), once `after` characters were taken.
 */
export interface SinkFailure {
  code: string;
  after: number;
}

/** A stream that keeps what is written to it, optionally posing as a TTY. */
export class Sink extends Writable {
  text = '';
  isTTY?: boolean;
  /** The most bytes ever queued in the stream: what a writer ignoring backpressure piles up. */
  peakQueued = 0;
  readonly slow: boolean;
  readonly fail: SinkFailure | undefined;

  constructor(
    options: {
      tty?: boolean | undefined;
      highWaterMark?: number;
      slow?: boolean;
      fail?: SinkFailure;
    } = {},
  ) {
    super({ highWaterMark: options.highWaterMark, decodeStrings: false });
    if (options.tty) this.isTTY = true;
    this.slow = options.slow ?? false;
    this.fail = options.fail;
  }

  override _write(chunk: string | Buffer, _: BufferEncoding, done: (e?: Error) => void): void {
    this.peakQueued = Math.max(this.peakQueued, this.writableLength);
    if (this.fail && this.text.length >= this.fail.after) {
      const { code } = this.fail;
      done(Object.assign(new Error(`${code}: injected write failure, write`), { code }));
      return;
    }
    this.text += String(chunk);
    // A slow reader: the write completes on a later turn of the event loop.
    if (this.slow) setImmediate(done);
    else done();
  }
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Pose stdout and stderr as TTYs. */
  tty?: boolean | { stdout?: boolean; stderr?: boolean };
  env?: Record<string, string | undefined>;
  stdout?: Sink;
  /** The file system the commands run on (default: the real one). */
  fs?: WalFs;
}

/** `main(argv)` with fake streams; the environment is empty unless given. */
export async function run(argv: string[], options: RunOptions = {}): Promise<Result> {
  const tty = options.tty ?? false;
  const stdout = options.stdout ?? new Sink({ tty: typeof tty === 'boolean' ? tty : tty.stdout });
  const stderr = new Sink({ tty: typeof tty === 'boolean' ? tty : tty.stderr });
  const io = { stdout, stderr, env: options.env ?? {} };
  const code = await main(argv, options.fs ? { ...io, fs: options.fs } : io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** `run`, then the stdout parsed as JSON. */
export async function runJson(argv: string[]): Promise<{ code: number; json: unknown }> {
  const r = await run(argv);
  return { code: r.code, json: JSON.parse(r.stdout) };
}

/** The lines of `text`, without the final newline's empty one. */
export const lines = (text: string): string[] =>
  text.split('\n').filter((l, i, a) => l || i < a.length - 1);

export interface ChildResult extends Result {
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  uid?: number;
  gid?: number;
}

/** Runs `command` from the repository root, collecting its output. */
export function spawnCollect(
  command: string,
  args: string[],
  options: SpawnOptions = {},
): Promise<ChildResult> {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: undefined, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    uid: options.uid,
    gid: options.gid,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr }));
  });
}

/** `node --conditions=@wal/source --import tsx packages/cli/src/bin.ts ...argv`, as `pnpm wal` runs. */
export function runBin(argv: string[], options?: SpawnOptions): Promise<ChildResult> {
  return spawnCollect(process.execPath, [...SOURCE_FLAGS, BIN, ...argv], options);
}

/** `text` as a literal inside a RegExp source. */
export const literal = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
