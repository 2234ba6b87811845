import { isIndex, readU32 } from './bytes.js';
import {
  DEFAULT_MAX_RECORD_BYTES,
  FRAME_HEADER_SIZE,
  MAX_RECORD_BYTES_LIMIT,
  MAX_SEQUENCE,
  MIN_BATCH_BYTES,
  MIN_RECORD_BYTES,
  SEGMENT_HEADER_SIZE,
} from './constants.js';
import { checkFrameWindows, type WindowCheck } from './crc-window.js';
import { type DamageReason, describeValue, ErrorCode, WalError } from './errors.js';
import {
  type DecodedFrame,
  type DecodedRecord,
  decodeFrame,
  decodeFrameAt,
  type FrameReadContext,
  mayStartFrame,
} from './frame-decoder.js';
import { isMaxRecordBytes } from './limits.js';
import { saltSeed } from './record.js';

/** A frame the decoder accepted, at its file offset. */
export type { DecodedFrame } from './frame-decoder.js';

/** A damaged region, as the decoder sees it (the segment layer adds `file` and `segment`). */
export interface DecodedDamage {
  kind: 'damage';
  /** File offset of the first damaged byte. */
  offset: number;
  /** Damaged bytes: up to the next accepted frame, or to the end of input. */
  bytes: number;
  reason: DamageReason;
  /** What was expected and what was found. */
  detail: string;
  /** The sequence the segment expected where the damage starts. */
  nextSequence: number;
}

/** What the decoder found at a position of its input. */
export type DecodeResult = DecodedFrame | DecodedDamage;

/** Options for {@link FrameDecoder} and {@link decodeAll}: what the segment header says. */
export interface FrameDecoderOptions {
  /** The segment header's salt: every frame's CRC covers it. */
  salt: number;
  /** The segment header's first sequence: the first frame must continue from it. */
  firstSequence: number;
  /** Largest record length accepted (the header's); longer lengths are `bad-length`. Default 16 MiB. */
  maxRecordBytes?: number;
  /** File offset of the first byte pushed. Default `SEGMENT_HEADER_SIZE`. */
  offset?: number;
  /**
   * Sequences this segment cannot reach (a seal's next sequence, or the next
   * segment's first): after damage, a frame is accepted only below it. Default: none.
   */
  ceiling?: number;
  /**
   * The input starts right after damage: the first frame is accepted at or
   * above `firstSequence`, not only exactly at it. Default false.
   */
  afterDamage?: boolean;
}

interface OpenDamage {
  offset: number;
  reason: DamageReason;
  detail: string;
  allZero: boolean;
  nextSequence: number;
}

const EMPTY = new Uint8Array(0);

/**
 * An incremental decoder of one segment's frames (the bytes after its
 * header). Push chunks of any size, call `end()` at end of input, and pull
 * results with `next()` until it returns `undefined`.
 *
 * A frame is accepted only when its CRC holds (salted with the segment's
 * salt; checked for 8 KiB of frames at a time with one native pass, and
 * frame by frame where that fails: see crc-window.ts) and its sequences
 * continue the segment exactly: the first frame
 * starts at the header's first sequence, and each next one where the
 * previous ended. An intact frame that does not continue is `bad-sequence`
 * damage. After a seal nothing may follow (`bad-seal`).
 *
 * After damage it resyncs: it scans forward byte by byte for the next
 * offset where a complete frame passes its CRC and lies at or above the
 * sequence the damage interrupted (and below `ceiling`), and reports the
 * damage once, with the bytes skipped. Decoding then goes on from that frame.
 *
 * It does not decide whether damage is a crash or corruption: that takes the
 * frames after it and knowing whether this is the last segment (the
 * segment layer's tail rule). A frame cut short by the end of input is
 * `truncated` (`zero-fill` when every byte left is zero).
 *
 * Keys and values are views into the pushed chunks, or into the buffer the
 * decoder joined them into for a frame that spans chunks; never copies per
 * entry. They stay valid as long as the caller does not overwrite a chunk it
 * pushed.
 */
export class FrameDecoder {
  readonly #max: number;
  readonly #seed: number;
  readonly #ceiling: number;
  #buf: Uint8Array = EMPTY;
  // The input ends at #end: a buffer this decoder allocated (#owned) has room after it.
  #end = 0;
  #owned = false;
  #pos = 0;
  #base: number;
  #span: Uint8Array | null = null;
  #spanOffset = 0;
  #ended = false;
  #sealed = false;
  #damage: OpenDamage | null = null;
  #expected: number;
  // After damage, the frame the resync found: accepted at or above this floor.
  #resumeAt: number | null = null;
  readonly #context: FrameReadContext;
  // Window CRC checks, as positions in #buf: the frames that follow each
  // other from the position decoding reached and start below #checkedEnd
  // passed their CRC; those below #failedEnd are checked one by one. Both
  // are reset whenever #buf changes or decoding leaves those frames' path.
  #checkedEnd = 0;
  #failedEnd = 0;
  readonly #window: WindowCheck = { valid: 0, failedEnd: 0 };

  /** Throws `WAL_INVALID_OPTIONS` when an option is out of range. */
  constructor(options: FrameDecoderOptions) {
    const { salt, firstSequence } = options ?? {};
    const max = options?.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    const offset = options?.offset ?? SEGMENT_HEADER_SIZE;
    const ceiling = options?.ceiling ?? Number.POSITIVE_INFINITY;
    if (!isMaxRecordBytes(max)) {
      throw invalid(
        'maxRecordBytes',
        `an integer in [${MIN_BATCH_BYTES}, ${MAX_RECORD_BYTES_LIMIT}]`,
        max,
      );
    }
    if (!isIndex(offset)) throw invalid('offset', 'a non-negative safe integer', offset);
    if (!isIndex(salt, 0xffff_ffff)) throw invalid('salt', 'a u32', salt);
    if (!isIndex(firstSequence, MAX_SEQUENCE))
      throw invalid('firstSequence', 'a sequence', firstSequence);
    if (ceiling !== Number.POSITIVE_INFINITY && !isIndex(ceiling, MAX_SEQUENCE)) {
      throw invalid('ceiling', 'a sequence', ceiling);
    }
    this.#max = max;
    this.#seed = saltSeed(salt);
    this.#ceiling = ceiling;
    this.#base = offset;
    this.#expected = firstSequence;
    if (options?.afterDamage) this.#resumeAt = firstSequence;
    this.#context = { maxRecordBytes: max, seed: this.#seed, frameOffset: 0 };
  }

  /** File offset of the first byte not yet decoded. */
  get offset(): number {
    return this.#span ? this.#spanOffset : this.#base + this.#pos;
  }

  /** The sequence the next accepted frame must start at (after damage: at least). */
  get nextSequence(): number {
    return this.#damage ? this.#damage.nextSequence : this.#expected;
  }

  /** True once a seal was accepted: the segment ends there. */
  get sealed(): boolean {
    return this.#sealed;
  }

  /**
   * Adds input. Chunks are kept by reference; bytes are copied only to join
   * a frame (or a damaged region) that spans chunks.
   */
  push(chunk: Uint8Array): void {
    if (this.#ended) {
      throw new WalError(
        ErrorCode.INVALID_ARGUMENT,
        'expected input before end(), found a push after it',
      );
    }
    if (chunk.length === 0) return;
    if (this.#span) this.#rejoinSpan();
    const rest = this.#end - this.#pos;
    if (rest === 0) {
      this.#base += this.#end;
      this.#use(chunk, 0);
      return;
    }
    // Already joining in a buffer of ours with room: add the chunk there.
    if (this.#owned && this.#buf.length - this.#end >= chunk.length) {
      this.#append(chunk);
      return;
    }
    // Common case: one frame spans the boundary. Copy only that frame.
    // After a seal nothing is a frame: leave the bytes to the bad-seal check.
    const need = this.#damage || this.#sealed ? -1 : this.#spanningFrameSize(chunk, rest);
    if (need > rest && need - rest <= chunk.length) {
      const frame = new Uint8Array(need);
      frame.set(this.#buf.subarray(this.#pos, this.#end));
      frame.set(chunk.subarray(0, need - rest), rest);
      this.#span = frame;
      this.#spanOffset = this.#base + this.#pos;
      this.#base += this.#end;
      this.#use(chunk, need - rest);
      return;
    }
    this.#append(chunk);
  }

  /** Declares the end of input, so a cut-short frame can be reported. */
  end(): void {
    this.#ended = true;
  }

  /** The next result, or `undefined` when more input is needed (or, after `end()`, when done). */
  next(): DecodeResult | undefined {
    if (this.#span) {
      const span = this.#span;
      this.#context.frameOffset = this.#spanOffset;
      const r = decodeFrameAt(span, 0, span.length, this.#context);
      if (r.kind === 'frame' && this.#fits(r.record, true)) {
        this.#span = null;
        return this.#accept(r);
      }
      this.#rejoinSpan();
    }
    if (this.#damage) return this.#resync();
    if (this.#pos >= this.#end) return undefined;
    if (this.#sealed) {
      if (!this.#ended) return undefined;
      this.#openDamage(
        'bad-seal',
        `expected the segment to end at its seal, found ${this.#end - this.#pos} more bytes`,
      );
      const d = this.#damage as unknown as OpenDamage;
      // Zeros after a seal are no free space: the seal gave the segment's end.
      d.allZero = false;
      this.#pos = this.#end;
      return this.#closeDamage(d, false);
    }
    this.#context.frameOffset = this.#base + this.#pos;
    const r = decodeFrame(this.#buf, this.#pos, this.#end, this.#context, this.#crcChecked());
    if (r.kind === 'frame') {
      if (this.#fits(r.record, true)) {
        this.#pos += r.size;
        return this.#accept(r);
      }
      this.#openDamage(
        'bad-sequence',
        `expected a record continuing at sequence ${this.#expected}, found ${describeRecord(r.record)} (an intact frame out of place)`,
      );
    } else if (r.kind === 'incomplete') {
      if (!this.#ended) return undefined;
      const left = this.#end - this.#pos;
      this.#openDamage(
        'truncated',
        `expected a complete frame, found ${left} bytes before the end`,
      );
    } else {
      this.#openDamage(r.reason, r.detail);
    }
    return this.#resync();
  }

  /**
   * Appends the frames available now to `frames`, up to the first damage,
   * which it returns, or until their entries reach `maxEntries` (a frame
   * without entries counts as one; default: no limit). `undefined`:
   * `maxEntries` was reached (call again), more input is needed, or after
   * `end()`, the input is done. The same results as `next()`.
   */
  drain(frames: DecodedFrame[], maxEntries = Number.POSITIVE_INFINITY): DecodedDamage | undefined {
    let entries = 0;
    while (entries < maxEntries) {
      const r = this.next();
      if (r === undefined) return undefined;
      if (r.kind === 'damage') return r;
      frames.push(r);
      entries += r.record.type === 'batch' ? r.record.entries.length : 1;
    }
    return undefined;
  }

  /** Drains every result available now. */
  *[Symbol.iterator](): IterableIterator<DecodeResult> {
    for (let r = this.next(); r; r = this.next()) yield r;
  }

  // True when the frame at #pos passed its CRC with its window. Checks the
  // windows ahead when decoding reaches the end of those already checked.
  #crcChecked(): boolean {
    const pos = this.#pos;
    if (pos < this.#checkedEnd) return true;
    if (pos < this.#failedEnd) return false;
    const w = checkFrameWindows(this.#buf, pos, this.#end, this.#max, this.#seed, this.#window);
    this.#checkedEnd = w.valid;
    this.#failedEnd = w.failedEnd;
    return pos < w.valid;
  }

  // Decoding leaves the path of frames the windows followed (damage) or #buf changes.
  #forgetChecks(): void {
    this.#checkedEnd = 0;
    this.#failedEnd = 0;
  }

  // Exact: the record starts where the segment is. After damage: at or above
  // the interrupted sequence, and below the ceiling.
  #fits(record: DecodedRecord, exact: boolean): boolean {
    const floor = this.#damage?.nextSequence ?? this.#resumeAt;
    const first = firstOf(record);
    if (exact && floor === null) return first === this.#expected;
    return first >= (floor ?? this.#expected) && nextOf(record) <= this.#ceiling;
  }

  #accept(frame: DecodedFrame): DecodedFrame {
    const { record } = frame;
    this.#expected = nextOf(record);
    this.#resumeAt = null;
    if (record.type === 'seal') this.#sealed = true;
    return frame;
  }

  #openDamage(reason: DamageReason, detail: string): void {
    this.#forgetChecks();
    this.#damage = {
      offset: this.#base + this.#pos,
      reason,
      detail,
      allZero: this.#buf[this.#pos] === 0,
      nextSequence: this.#expected,
    };
    this.#pos += 1;
  }

  // Looks for the next acceptable frame. Waits for input while a candidate
  // could still complete; reports the damaged region once its extent is known.
  #resync(): DecodeResult | undefined {
    const d = this.#damage as OpenDamage;
    const buf = this.#buf;
    const end = this.#end;
    while (this.#pos < end) {
      if (buf[this.#pos] === 0) {
        // Zeros (free space after the last frame, say): no frame starts
        // where its length field is zero, so skip to 3 bytes before the
        // next non-zero byte without looking further.
        let q = this.#pos + 1;
        while (q < end && buf[q] === 0) q++;
        if (q - 3 > this.#pos) {
          this.#pos = q - 3;
          continue;
        }
      }
      if (mayStartFrame(buf, this.#pos, end, this.#max)) {
        this.#context.frameOffset = this.#base + this.#pos;
        const r = decodeFrameAt(buf, this.#pos, end, this.#context);
        if (r.kind === 'frame' && this.#fits(r.record, false)) return this.#closeDamage(d, true);
        if (r.kind === 'incomplete' && !this.#ended) return undefined;
      }
      if (buf[this.#pos] !== 0) d.allZero = false;
      this.#pos += 1;
    }
    return this.#ended ? this.#closeDamage(d, false) : undefined;
  }

  #closeDamage(d: OpenDamage, found: boolean): DecodedDamage {
    this.#damage = null;
    if (found) this.#resumeAt = d.nextSequence;
    let reason = d.reason;
    if (d.allZero) reason = 'zero-fill';
    else if (reason === 'zero-fill' || (reason === 'truncated' && found)) reason = 'bad-length';
    const bytes = this.#base + this.#pos - d.offset;
    const where = found ? 'to the next valid frame' : 'to the end of input';
    return {
      kind: 'damage',
      offset: d.offset,
      bytes,
      reason,
      detail: `${d.detail}; ${bytes} bytes ${where}`,
      nextSequence: d.nextSequence,
    };
  }

  // Frame size announced by the header that starts in the unconsumed bytes
  // and may continue in `chunk`; -1 when the header is incomplete or implausible.
  #spanningFrameSize(chunk: Uint8Array, rest: number): number {
    if (rest + chunk.length < FRAME_HEADER_SIZE) return -1;
    const header = new Uint8Array(FRAME_HEADER_SIZE);
    const fromBuf = Math.min(rest, FRAME_HEADER_SIZE);
    header.set(this.#buf.subarray(this.#pos, this.#pos + fromBuf));
    header.set(chunk.subarray(0, FRAME_HEADER_SIZE - fromBuf), fromBuf);
    const length = readU32(header, 0);
    if (length < MIN_RECORD_BYTES || length > this.#max) return -1;
    return FRAME_HEADER_SIZE + length;
  }

  #rejoinSpan(): void {
    const span = this.#span as Uint8Array;
    this.#span = null;
    this.#base = this.#spanOffset;
    this.#append(span, true);
  }

  #use(chunk: Uint8Array, pos: number): void {
    this.#forgetChecks();
    this.#buf = chunk;
    this.#end = chunk.length;
    this.#owned = false;
    this.#pos = pos;
  }

  // Adds `bytes` after the unconsumed input (before it, with `first`). The
  // buffer grows geometrically, so a large frame or a damaged region that
  // arrives in many small chunks costs O(1) copies per byte, not one copy of
  // everything so far per chunk.
  #append(bytes: Uint8Array, first = false): void {
    const rest = this.#end - this.#pos;
    if (!first && this.#owned && this.#buf.length - this.#end >= bytes.length) {
      // Positions in #buf stay: checks up to the old end stay valid.
      this.#buf.set(bytes, this.#end);
      this.#end += bytes.length;
      return;
    }
    this.#forgetChecks();
    const joined = new Uint8Array(2 * (rest + bytes.length));
    joined.set(bytes, first ? 0 : rest);
    joined.set(this.#buf.subarray(this.#pos, this.#end), first ? bytes.length : 0);
    if (!first) this.#base += this.#pos;
    this.#buf = joined;
    this.#end = rest + bytes.length;
    this.#owned = true;
    this.#pos = 0;
  }
}

/** Decodes a complete buffer: the bytes after a segment header, typically. */
export function decodeAll(bytes: Uint8Array, options: FrameDecoderOptions): DecodeResult[] {
  const decoder = new FrameDecoder(options);
  decoder.push(bytes);
  decoder.end();
  return [...decoder];
}

/** The sequences a record covers: from `first` up to (not including) `next`. */
export function sequencesOf(record: DecodedRecord): { first: number; next: number } {
  return { first: firstOf(record), next: nextOf(record) };
}

// sequencesOf's halves, without an object per frame on the decoder's path.
function firstOf(record: DecodedRecord): number {
  return record.type === 'batch' || record.type === 'hole'
    ? record.firstSequence
    : record.nextSequence;
}

function nextOf(record: DecodedRecord): number {
  return record.type === 'batch'
    ? record.firstSequence + record.entries.length
    : record.nextSequence;
}

function describeRecord(record: DecodedRecord): string {
  const { first, next } = sequencesOf(record);
  return record.type === 'batch' || record.type === 'hole'
    ? `a ${record.type} of sequences ${first} to ${next - 1}`
    : `a ${record.type} at sequence ${first}`;
}

function invalid(field: string, expected: string, found: unknown): WalError {
  return new WalError(
    ErrorCode.INVALID_OPTIONS,
    `expected ${field} to be ${expected}, found ${describeValue(found)}`,
  );
}
