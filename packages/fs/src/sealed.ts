import { createHash } from 'node:crypto';
import path from 'node:path';
import { CorruptionError, describeValue, ErrorCode, isIndex, WalError } from '@wal/codec';
import { checkPath } from '@wal/codec/internal';
import { nodeFs } from './node-fs.js';
import type { SealedSegment } from './open-log.js';
import { optionsShapeProblem } from './options.js';
import { checkChain } from './segments/chain.js';
import { READ_CHUNK_BYTES } from './segments/frames.js';
import {
  readListedInfo,
  readListedInfos,
  readSegmentInfo,
  type SegmentInfo,
} from './segments/info.js';
import { closeQuietly, errnoOf, io, readAt } from './segments/io.js';
import { isWalFs, type WalFs } from './wal-fs.js';

/**
 * A sealed segment: complete, synced and never written again. What an
 * archive stores and compares.
 */
export interface SealedSegmentInfo {
  /** Its number. */
  segment: number;
  /** Its path. */
  file: string;
  /** The first sequence it may hold (its header's). */
  firstSequence: number;
  /**
   * Its seal's next sequence minus one: the last sequence it holds. Below
   * `firstSequence` when it holds none (a rotation with nothing appended).
   */
  lastSequence: number;
  /** Its length: the whole file, seal included. */
  bytes: number;
  /**
   * SHA-256 of the whole file, as 64 lowercase hex digits: equal checksums
   * mean equal bytes, so an archive can tell a resend from a different segment.
   */
  checksum: string;
}

/** Options of {@link listSealedSegments}. */
export interface ListSealedOptions {
  /** File-system implementation. Default `nodeFs`. */
  fs?: WalFs;
  /** Only segments numbered at or above this (the others are not read, so not hashed). Default 0. */
  from?: number;
}

/**
 * The sealed segments of the log in `dir`, in segment order: every segment
 * but the last, whose seals were synced before the next segment was created,
 * so each is complete and final even if a writer is appending now. (The
 * last segment is never listed, even when its last frame is a seal: a
 * rotation may have written the seal without syncing it yet.) Reads each
 * listed file whole to hash it. Use it for segments sealed before a writer
 * started; {@link Wal.sealedSegments} follows a running writer. A segment
 * that a running writer's retention deletes while it lists is left out.
 *
 * Rejects with `WAL_NOT_FOUND` when `dir` does not exist, `WAL_CORRUPTION`
 * when the chain of segments is broken (as `Wal.open` would refuse), and
 * `WAL_INVALID_OPTIONS` for bad options, before any I/O.
 */
export async function listSealedSegments(
  dir: string,
  options: ListSealedOptions = {},
): Promise<SealedSegmentInfo[]> {
  const { fs, from } = parseListOptions(dir, options);
  const infos = await readListedInfos(fs, dir);
  const sealed = infos.slice(0, -1);
  const broken = checkChain(infos).find((c) => c.index < sealed.length);
  if (broken) {
    const { damage } = broken;
    throw new CorruptionError(
      `${damage.file}: ${damage.detail} (${damage.reason}); the chain of sealed segments is broken, see \`wal verify ${dir}\``,
      damage,
    );
  }
  const out: SealedSegmentInfo[] = [];
  for (const info of sealed) {
    if (info.segment < from) continue;
    const described = await hashListed(fs, dir, info);
    if (described) out.push(described);
  }
  return out;
}

// Hashes a segment listed in `dir`, or null when a writer's retention
// deleted it since its info was read: gone from a fresh listing, as
// readListedInfo decides.
async function hashListed(
  fs: WalFs,
  dir: string,
  info: SegmentInfo,
): Promise<SealedSegmentInfo | null> {
  try {
    return await hashSealed(fs, info);
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT' || (await readListedInfo(fs, dir, info)) !== null) throw error;
    return null;
  }
}

/**
 * Describes one sealed segment file: its header and seal (which must give
 * its exact length), and the SHA-256 of its bytes. `WAL_CORRUPTION` when it
 * is not a sealed segment (of number `segment`); `WAL_IO_ERROR` (ENOENT
 * cause) when it is gone.
 */
export async function describeSealedSegment(
  fs: WalFs,
  file: string,
  segment: number,
): Promise<SealedSegmentInfo> {
  return hashSealed(fs, await readSegmentInfo(fs, file, segment));
}

async function hashSealed(fs: WalFs, info: SegmentInfo): Promise<SealedSegmentInfo> {
  const { header, seal, file, segment, size } = info;
  if (!header || header.segment !== segment || !seal || seal.bytes !== size) {
    const detail = !header
      ? `expected a valid segment header, found ${info.headerDetail || 'none'}`
      : header.segment !== segment
        ? `expected segment ${segment} in the header, found ${header.segment}`
        : !seal
          ? 'expected the segment to end with a seal, found none'
          : `expected the seal to give the file's length ${size}, found ${seal.bytes}`;
    throw new CorruptionError(`${file}: ${detail}; it is not a sealed segment`, {
      file,
      segment,
      offset: 0,
      bytes: size,
      reason: header ? 'bad-seal' : 'bad-header',
      detail,
    });
  }
  const hash = createHash('sha256');
  const fd = await io('open segment', file, () => fs.open(file, 'r'));
  try {
    for (let p = 0; p < size; ) {
      const chunk = await readAt(fs, fd, p, Math.min(READ_CHUNK_BYTES, size - p), file);
      if (chunk.length === 0) {
        throw new WalError(
          ErrorCode.IO_ERROR,
          `expected ${file} to hold ${size} bytes, found it ending at ${p} (changed while hashed)`,
        );
      }
      hash.update(chunk);
      p += chunk.length;
    }
  } finally {
    await closeQuietly(fs, fd);
  }
  return {
    segment,
    file,
    firstSequence: header.firstSequence,
    lastSequence: seal.nextSequence - 1,
    bytes: size,
    checksum: hash.digest('hex'),
  };
}

function parseListOptions(dir: unknown, options: unknown): { fs: WalFs; from: number } {
  checkPath(dir, 'dir');
  const { fs = nodeFs, from = 0, ...rest } = (options ?? {}) as ListSealedOptions;
  const bad =
    optionsShapeProblem(options, rest) ??
    (!isWalFs(fs)
      ? `fs: expected a WalFs, found ${describeValue(fs)}`
      : !isIndex(from)
        ? `from: expected a segment number, found ${describeValue(from)}`
        : undefined);
  if (bad) {
    throw new WalError(
      ErrorCode.INVALID_OPTIONS,
      `expected valid listSealedSegments options, found ${bad}`,
    );
  }
  return { fs, from };
}

/**
 * The writer's feed of sealed segments for one reader (see
 * {@link Wal.sealedSegments}): the segments sealed when it was made, then
 * each one sealed after, hashed as they are taken.
 * @internal
 */
export class SealedFeed implements AsyncIterableIterator<SealedSegmentInfo> {
  readonly #fs: WalFs;
  readonly #queue: SealedSegment[];
  readonly #signal: AbortSignal | undefined;
  readonly #detach: () => void;
  #truncated: WalError | undefined;
  // undefined: the writer may seal more; null: it closed; else why it stopped.
  #end: WalError | null | undefined;
  // Wakes the one next() that sleeps: the others wait in #turn behind it.
  #wake: (() => void) | undefined;
  // The last next() called: each runs once the one before it settled, so
  // each segment goes to exactly one of them, in call order.
  #turn: Promise<unknown> = Promise.resolve();
  #done = false;
  // The newest segment queued (or the one before `from`): the writer
  // announces a segment after the log counts it as sealed, so a feed made
  // between has it queued already.
  #last: number;

  constructor(
    fs: WalFs,
    queue: SealedSegment[],
    from: number,
    signal: AbortSignal | undefined,
    detach: () => void,
    truncated?: WalError,
  ) {
    this.#fs = fs;
    this.#queue = queue;
    this.#signal = signal;
    this.#detach = detach;
    this.#truncated = truncated;
    this.#last = queue.at(-1)?.segment ?? from - 1;
  }

  /** A segment the writer has just sealed (ignored when queued already). */
  push(segment: SealedSegment): void {
    if (segment.segment <= this.#last) return;
    this.#last = segment.segment;
    this.#queue.push(segment);
    this.#wake?.();
  }

  /** The writer seals no more: `error` null when it closed, else why. */
  end(error: WalError | null): void {
    if (this.#end === undefined) this.#end = error;
    this.#wake?.();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<SealedSegmentInfo>> {
    const result = this.#turn.then(() => this.#take());
    this.#turn = result.catch(() => undefined);
    return result;
  }

  async return(): Promise<IteratorResult<SealedSegmentInfo>> {
    if (!this.#done) {
      this.#done = true;
      this.#detach();
    }
    // The next() asleep ends, and every one queued behind it.
    this.#wake?.();
    return { done: true, value: undefined };
  }

  async #take(): Promise<IteratorResult<SealedSegmentInfo>> {
    try {
      if (this.#done) return { done: true, value: undefined };
      if (this.#truncated) throw this.#truncated;
      for (;;) {
        if (this.#done) return { done: true, value: undefined };
        this.#signal?.throwIfAborted();
        const next = this.#queue.shift();
        if (next) return { done: false, value: await this.#describe(next) };
        if (this.#end === null) {
          await this.return();
          return { done: true, value: undefined };
        }
        if (this.#end) throw this.#end;
        await this.#sleep();
      }
    } catch (error) {
      await this.return();
      throw error;
    }
  }

  async #describe(s: SealedSegment): Promise<SealedSegmentInfo> {
    try {
      return await describeSealedSegment(this.#fs, s.file, s.segment);
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT') throw error;
      throw new WalError(
        ErrorCode.TRUNCATED,
        `expected ${path.basename(s.file)} (sequences ${s.firstSequence} to ${s.nextSequence - 1}) to be there, found it deleted by retention before it was read; hold segments (wal.holdSegments) that must be read first`,
        { cause: error },
      );
    }
  }

  #sleep(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const signal = this.#signal;
      const onAbort = () => {
        this.#wake = undefined;
        reject(signal?.reason);
      };
      this.#wake = () => {
        this.#wake = undefined;
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
