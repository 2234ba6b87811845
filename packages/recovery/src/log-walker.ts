import { type DamageReason, SEGMENT_HEADER_SIZE, type WalRecord } from '@wal/codec';
import { segmentFileName, type WalFs } from '@wal/fs';
import { readFrames } from './segment-frames.js';
import { listLog, type SegmentInfo, singleSegment } from './segments.js';
import type { Gap } from './types.js';

/** Everything found in a log, in order. Modes decide what to do with it. */
export type WalkEvent =
  | { kind: 'read' }
  | { kind: 'segment'; segment: SegmentInfo }
  | { kind: 'record'; segment: SegmentInfo; offset: number; size: number; record: WalRecord }
  | {
      kind: 'damage';
      segment: SegmentInfo;
      offset: number;
      bytes: number;
      reason: DamageReason;
      detail: string;
      torn: boolean;
    }
  | { kind: 'gap'; segment: SegmentInfo; gap: Gap }
  /** Wholly below `fromSequence`: its frames are not read. */
  | { kind: 'skip'; segment: SegmentInfo };

export type WalkSource = { dir: string } | { file: string };

/**
 * Walks a log's segments and frames, checking what ties them together:
 * contiguous segment numbers, headers, and sequences (each record's first
 * sequence is the previous record's last + 1; a segment's first sequence
 * continues the previous segment). It never stops by itself: after damage or
 * a gap it resyncs like `skip-corrupted`, so callers stop it (by returning
 * from the generator) when their mode says so. Its state then describes the
 * consistent prefix read so far.
 */
export class LogWalker {
  readonly #fs: WalFs;
  readonly #source: WalkSource;
  readonly #maxRecordBytes: number;
  readonly #fromSequence: number;
  /** The segments being walked, once the walk has started. */
  segments: SegmentInfo[] = [];
  /** Index in `segments` of the segment being read. */
  index = -1;
  // The exact sequence the next record must have; null after damage or a
  // gap, when any sequence at or above #floor is accepted (resync).
  #expected: number | null = null;
  #floor = 0;
  // Records of the segment being read must end before the next segment's
  // first sequence, when its header tells it. After damage this bounds the
  // resync: a frame found inside a damaged value (a log stored in a log) is
  // not taken for a record unless its sequences fit between the two.
  #ceiling = Number.POSITIVE_INFINITY;
  #last: number | null = null;

  constructor(fs: WalFs, source: WalkSource, maxRecordBytes: number, fromSequence = 0) {
    this.#fs = fs;
    this.#source = source;
    this.#maxRecordBytes = maxRecordBytes;
    this.#fromSequence = fromSequence;
  }

  /** The sequence a writer would use next after what has been accepted so far. */
  get nextSequence(): number {
    return this.#expected ?? this.#floor;
  }

  /** The last sequence accepted so far, or null. */
  get lastSequence(): number | null {
    return this.#last;
  }

  *walk(): Generator<WalkEvent> {
    const source = this.#source;
    this.segments =
      'dir' in source ? listLog(this.#fs, source.dir) : [singleSegment(this.#fs, source.file)];
    const segments = this.segments;
    // The writer drops a last file too short for a header (a creation that
    // did not finish); the segment before it is then the tail.
    const n = segments.length;
    const shortLast = n > 0 && (segments[n - 1] as SegmentInfo).size < SEGMENT_HEADER_SIZE;
    const tail = shortLast && n > 1 ? n - 2 : n - 1;
    for (this.index = 0; this.index < n; this.index++) {
      yield* this.#segment(this.index, tail, shortLast && this.index === n - 1);
    }
  }

  *#segment(i: number, tail: number, shortLast: boolean): Generator<WalkEvent> {
    const segment = this.segments[i] as SegmentInfo;
    const previous = this.segments[i - 1];
    let gapped = false;
    if (previous && segment.segmentNumber !== previous.segmentNumber + 1) {
      const from = previous.segmentNumber + 1;
      const detail = `expected ${segmentFileName(from)} after ${segmentFileName(previous.segmentNumber)}, found ${segmentFileName(segment.segmentNumber)} (segments ${from} to ${segment.segmentNumber - 1} are missing)`;
      yield this.#gap(segment, 'missing', 0, detail);
      gapped = true;
    }
    // Segment 0, or any last file after another, may be a creation cut short.
    if (shortLast && (i > 0 || segment.segmentNumber === 0)) {
      yield { kind: 'segment', segment };
      if (segment.size > 0) {
        const detail = `expected a ${SEGMENT_HEADER_SIZE}-byte segment header, found ${segment.size} bytes (a segment creation cut short)`;
        yield {
          kind: 'damage',
          segment,
          offset: 0,
          bytes: segment.size,
          reason: 'bad-header',
          detail,
          torn: true,
        };
      }
      return;
    }
    const header = segment.header;
    if (!header) {
      const detail = `${segment.headerDetail || 'no header'}${shortLast ? ', and no earlier segment to continue from' : ''}`;
      yield this.#gap(segment, 'foreign', segment.size, detail);
      this.#expected = null;
      return;
    }
    if (segment.checkNumber && header.segmentNumber !== segment.segmentNumber) {
      const detail = `expected segment number ${segment.segmentNumber} (from the file name) in the header, found ${header.segmentNumber}`;
      yield this.#gap(segment, 'swapped', segment.size, detail);
      this.#expected = null;
      return;
    }
    const first = header.firstSequence;
    if (!gapped && this.#expected !== null && first !== this.#expected) {
      const detail = `expected the segment to start at sequence ${this.#expected} (the previous one ends at ${this.#expected - 1}), found ${first}`;
      yield this.#gap(segment, 'sequence', 0, detail);
      gapped = true;
    }
    if (gapped) this.#expected = null;
    // Resync on the header unless that would go backwards.
    if (this.#expected === null && first >= this.#floor) this.#expected = first;
    this.#ceiling = this.#nextFirst(i);
    if (this.#belowFrom(i)) {
      if (this.#ceiling > first) this.#last = this.#ceiling - 1;
      this.#expected = this.#ceiling;
      this.#floor = this.#ceiling;
      yield { kind: 'skip', segment };
      return;
    }
    yield { kind: 'segment', segment };
    for (const event of readFrames(this.#fs, segment, i === tail, this.#maxRecordBytes)) {
      if (event.kind === 'record') {
        yield this.#checkSequence(segment, event);
      } else if (event.kind === 'damage') {
        yield { ...event, segment };
        if (!event.torn) this.#expected = null;
      } else {
        yield event;
      }
    }
  }

  #checkSequence(
    segment: SegmentInfo,
    event: { offset: number; size: number; record: WalRecord },
  ): WalkEvent {
    const { firstSequence, entries } = event.record;
    const expected = this.#expected;
    const fits = firstSequence >= this.#floor && firstSequence + entries.length <= this.#ceiling;
    if (expected === null ? fits : firstSequence === expected) {
      this.#expected = firstSequence + entries.length;
      this.#floor = this.#expected;
      this.#last = this.#expected - 1;
      return { kind: 'record', segment, ...event };
    }
    const bound = this.#ceiling === Number.POSITIVE_INFINITY ? '' : ` and below ${this.#ceiling}`;
    const wanted = expected === null ? `at least ${this.#floor}${bound}` : `${expected}`;
    this.#expected = null;
    return {
      kind: 'damage',
      segment,
      offset: event.offset,
      bytes: event.size,
      reason: 'bad-sequence',
      detail: `expected a record with sequence ${wanted}, found ${firstSequence} (an intact frame out of place)`,
      torn: false,
    };
  }

  // The first sequence of the segment after i, when its header is valid and
  // it directly follows i; otherwise no bound.
  #nextFirst(i: number): number {
    const segment = this.segments[i] as SegmentInfo;
    const next = this.segments[i + 1];
    const first = next?.header?.firstSequence;
    const follows =
      next?.segmentNumber === segment.segmentNumber + 1 &&
      next.header?.segmentNumber === next.segmentNumber;
    return follows && first !== undefined ? first : Number.POSITIVE_INFINITY;
  }

  // True when every sequence of segment i is below fromSequence, as told by
  // the next segment's header (#ceiling, set for segment i).
  #belowFrom(i: number): boolean {
    const first = this.segments[i]?.header?.firstSequence as number;
    const next = this.#ceiling;
    return (
      this.#fromSequence > 0 &&
      this.#expected === first &&
      next >= first &&
      next <= this.#fromSequence
    );
  }

  #gap(segment: SegmentInfo, kind: Gap['kind'], bytes: number, detail: string): WalkEvent {
    const gap: Gap = { kind, segment: segment.segmentNumber, file: segment.file, bytes, detail };
    return { kind: 'gap', segment, gap };
  }
}
