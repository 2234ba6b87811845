import {
  type Damage,
  type DecodedFrame,
  ErrorCode,
  type SegmentHeader,
  sequencesOf,
  WalError,
} from '@wal/codec';
import type { WalFs } from '@wal/fs';
import { errnoOf, ioError } from '@wal/fs/internal';
import {
  checkChain,
  readFrames,
  readListedInfos,
  readSegmentInfo,
  type SegmentInfo,
  segmentOfFile,
} from '@wal/fs/segments';
import { truncatedError } from './errors.js';

/** Everything found in a log, in order. Modes decide what to do with it. */
export type WalkEvent =
  /** A segment whose frames are about to be read. */
  | { kind: 'segment'; info: SegmentInfo }
  /** Wholly below `fromSequence`: its frames are not read. */
  | { kind: 'skip'; info: SegmentInfo }
  /** Accepted frames, in order (one read's worth). */
  | { kind: 'frames'; info: SegmentInfo; frames: DecodedFrame[] }
  /** `torn`: a torn write at the end of the last segment (see `readFrames`). */
  | { kind: 'damage'; info: SegmentInfo; damage: Damage; torn: boolean };

/** Where a walk reads: a log directory, or one segment file on its own. */
export type WalkSource = { dir: string } | { file: string };

/**
 * Walks a log's segments and frames through the segment layer of @wal/fs
 * (its tail rule and sequence checks), and checks what ties segments
 * together: the chain of headers and seals, and that each segment starts
 * where the previous one ended. It never stops by itself: after damage it
 * resyncs as `skip-corrupted` does (any sequence at or above what was
 * reached), so callers stop it when their mode says so. Its state then
 * describes the consistent prefix read so far.
 */
export class LogWalker {
  readonly #fs: WalFs;
  readonly #source: WalkSource;
  readonly #fromSequence: number;
  /** The segments walked, headers and seals read, once the walk has started. */
  segments: SegmentInfo[] = [];
  /** Index in `segments` of the segment being read. */
  index = -1;
  /** Bytes of free space read (zeros the writer preallocated after the last frame). */
  bytesFree = 0;
  // The exact sequence the next segment must start at; null after damage,
  // when any sequence at or above #floor is accepted.
  #expected: number | null = null;
  #floor = 0;
  #last: number | null = null;
  #highest = 0;

  readonly #pastTorn: boolean;

  /**
   * `pastTorn`: read on past a torn write in the last segment, as
   * `skip-corrupted` does (see `readFrames`); by default it ends the log.
   */
  constructor(fs: WalFs, source: WalkSource, fromSequence = 0, pastTorn = false) {
    this.#fs = fs;
    this.#source = source;
    this.#fromSequence = fromSequence;
    this.#pastTorn = pastTorn;
  }

  /** The sequence after what has been accepted so far (past damage, a floor). */
  get nextSequence(): number {
    return this.#expected ?? this.#floor;
  }

  /** The last entry's sequence accepted so far, or null. */
  get lastSequence(): number | null {
    return this.#last;
  }

  /**
   * Above every sequence the log shows, accepted or not: headers, seals,
   * frames found after damage. What repair makes the next sequence, so that
   * none is ever issued twice.
   */
  get highestNextSequence(): number {
    return Math.max(this.#highest, this.nextSequence);
  }

  async *walk(): AsyncGenerator<WalkEvent> {
    this.segments = await this.#list();
    const chain = checkChain(this.segments);
    for (this.index = 0; this.index < this.segments.length; this.index++) {
      const info = this.segments[this.index] as SegmentInfo;
      // The chain check's seal and sequence findings come from headers and
      // seals alone; reading the frames finds them more exactly.
      let readable = true;
      for (const { damage } of chain.filter((c) => c.index === this.index)) {
        if (damage.reason === 'bad-seal' || damage.reason === 'bad-sequence') continue;
        yield { kind: 'damage', info, damage, torn: false };
        if (damage.reason === 'bad-header') readable = false;
        else this.#expected = null;
      }
      if (!readable) {
        this.#expected = null;
        continue;
      }
      yield* this.#segment(info, this.index);
    }
  }

  async #list(): Promise<SegmentInfo[]> {
    const source = this.#source;
    if ('file' in source) {
      await checkFile(this.#fs, source.file);
      return [await readSegmentInfo(this.#fs, source.file, segmentOfFile(source.file) ?? null)];
    }
    return readListedInfos(this.#fs, source.dir);
  }

  async *#segment(info: SegmentInfo, i: number): AsyncGenerator<WalkEvent> {
    const header = info.header as SegmentHeader;
    const first = header.firstSequence;
    this.#highest = Math.max(this.#highest, first, info.seal?.nextSequence ?? 0);
    if (this.#expected !== null && first !== this.#expected) {
      const damage: Damage = {
        file: info.file,
        segment: info.segment,
        offset: 0,
        bytes: 0,
        reason: 'bad-sequence',
        detail: `expected the segment to start at sequence ${this.#expected} (where the previous one ends), found ${first}`,
      };
      yield { kind: 'damage', info, damage, torn: false };
      this.#expected = null;
    }
    if (this.#expected === null) {
      if (first < this.#floor) {
        // Starts below what was read already: its frames say what fits.
      } else this.#expected = first;
    }
    const next = this.segments[i + 1];
    const ceiling = info.seal?.nextSequence ?? nextFirst(info, next);
    if (this.#belowFrom(info)) {
      this.#accept(first, info.seal?.nextSequence as number);
      yield { kind: 'skip', info };
      return;
    }
    yield { kind: 'segment', info };
    // The tail rule applies to the last segment even when sealed: its seal
    // may have been written in the same unsynced window as damage before it.
    const last = i === this.segments.length - 1;
    try {
      for await (const event of readFrames(this.#fs, info, {
        last,
        pastTorn: this.#pastTorn,
        ...(ceiling === undefined ? {} : { ceiling }),
      })) {
        if (event.kind === 'frames') {
          // Frames pass up as read; only an out-of-place one splits them.
          const { frames } = event;
          let from = 0;
          for (let k = 0; k < frames.length; k++) {
            const frame = frames[k] as DecodedFrame;
            const { record } = frame;
            if (record.type === 'batch' || record.type === 'hole') {
              const start = record.firstSequence;
              const end =
                record.type === 'batch' ? start + record.entries.length : record.nextSequence;
              if (start < this.#floor) {
                if (k > from) yield { kind: 'frames', info, frames: frames.slice(from, k) };
                from = k + 1;
                yield {
                  kind: 'damage',
                  info,
                  damage: outOfPlace(info, frame, this.#floor),
                  torn: false,
                };
                continue;
              }
              this.#accept(start, end, record.type === 'batch');
            } else if (record.nextSequence >= this.#floor) {
              // A mark or seal after damage says where the segment stands again.
              this.#accept(record.nextSequence, record.nextSequence, false);
            }
          }
          if (from < frames.length) {
            yield { kind: 'frames', info, frames: from === 0 ? frames : frames.slice(from) };
          }
        } else if (event.kind === 'damage') {
          yield { kind: 'damage', info, damage: event.damage, torn: event.torn };
          if (!event.torn) this.#expected = null;
        } else {
          this.bytesFree += event.free;
          this.#highest = Math.max(this.#highest, event.nextSequence);
          if (this.#expected !== null) this.#expected = event.nextSequence;
        }
      }
    } catch (error) {
      if (errnoOf(error) === 'ENOENT')
        throw await truncatedError(this.#fs, this.#source, info, this.nextSequence, error);
      throw error;
    }
  }

  #accept(start: number, end: number, entries = true): void {
    this.#expected = end;
    this.#floor = end;
    this.#highest = Math.max(this.#highest, end);
    if (entries && end > start) this.#last = end - 1;
  }

  // True when every sequence of the segment is below fromSequence, as its
  // seal tells, and the walk is exactly at its start.
  #belowFrom(info: SegmentInfo): boolean {
    const seal = info.seal;
    return (
      seal !== null &&
      this.#fromSequence > 0 &&
      this.#expected === info.header?.firstSequence &&
      seal.nextSequence <= this.#fromSequence
    );
  }
}

async function checkFile(fs: WalFs, file: string): Promise<void> {
  let stat: Awaited<ReturnType<WalFs['stat']>>;
  try {
    stat = await fs.stat(file);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') {
      throw new WalError(
        ErrorCode.NOT_FOUND,
        `expected a segment file at ${file}, found nothing there`,
      );
    }
    throw ioError('stat', file, error);
  }
  if (!stat.isFile) {
    throw new WalError(
      ErrorCode.INVALID_ARGUMENT,
      `expected ${file} to be a segment file, found ${stat.isDirectory ? 'a directory' : 'something else'}`,
    );
  }
}

// The next segment's first sequence bounds this one's, when it directly follows.
function nextFirst(info: SegmentInfo, next: SegmentInfo | undefined): number | undefined {
  if (next?.segment !== info.segment + 1 || next.header?.segment !== next.segment) return undefined;
  return next.header.firstSequence;
}

function outOfPlace(info: SegmentInfo, frame: DecodedFrame, floor: number): Damage {
  const first = sequencesOf(frame.record).first;
  return {
    file: info.file,
    segment: info.segment,
    offset: frame.offset,
    bytes: frame.size,
    reason: 'bad-sequence',
    detail: `expected a record at or above sequence ${floor}, found one at ${first} (an intact frame out of place: the log already holds those sequences)`,
  };
}
