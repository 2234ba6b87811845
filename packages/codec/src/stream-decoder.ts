import { isIndex, readU32 } from './bytes.js';
import {
  DEFAULT_MAX_RECORD_BYTES,
  FRAME_HEADER_SIZE,
  MAX_RECORD_BYTES_LIMIT,
  MIN_RECORD_BYTES,
} from './constants.js';
import { type DamageReason, describeValue, ErrorCode, WalError } from './errors.js';
import { decodeFrameAt, mayStartFrame } from './frame-decoder.js';
import { isMaxRecordBytes, type WalRecord } from './record.js';

/** What the decoder found at a position of its input. */
export type DecodeResult =
  | {
      kind: 'record';
      /** File offset of the frame's first byte. */
      offset: number;
      /** Frame size in bytes, header included. */
      size: number;
      record: WalRecord;
    }
  | {
      kind: 'damage';
      /** File offset of the first damaged byte. */
      offset: number;
      /** Damaged bytes: up to the next valid frame, or to the end of input. */
      bytes: number;
      reason: DamageReason;
      /** What was expected and what was found. */
      detail: string;
    };

/** Options for {@link FrameDecoder} and {@link decodeAll}. */
export interface FrameDecoderOptions {
  /** Largest record length accepted; longer lengths are `bad-length`. Default 16 MiB. */
  maxRecordBytes?: number;
  /** File offset of the first byte pushed (the segment header size, usually). Default 0. */
  offset?: number;
}

interface OpenDamage {
  offset: number;
  reason: DamageReason;
  detail: string;
  allZero: boolean;
}

const EMPTY = new Uint8Array(0);

/**
 * An incremental frame decoder. Push chunks of any size, call `end()` at end
 * of input, and pull results with `next()` until it returns `undefined`.
 *
 * Tail policy: a frame cut short by the end of input is `truncated` (or
 * `zero-fill` when every byte left is zero). The decoder does not decide
 * whether that is a crash or corruption; the caller knows whether this was the
 * last segment.
 *
 * After damage it resyncs: it scans forward byte by byte for the next offset
 * where a complete frame passes its CRC, and reports the damage once, with the
 * bytes skipped. Decoding then goes on from that frame.
 *
 * Keys and values are views into the pushed chunks, or into the buffer the
 * decoder joined them into for a frame that spans chunks; never copies per
 * entry. They stay valid as long as the caller does not overwrite a chunk it
 * pushed.
 */
export class FrameDecoder {
  readonly #max: number;
  #buf: Uint8Array = EMPTY;
  // The input ends at #end: a buffer this decoder allocated (#owned) has room after it.
  #end = 0;
  #owned = false;
  #pos = 0;
  #base: number;
  #span: Uint8Array | null = null;
  #spanOffset = 0;
  #ended = false;
  #damage: OpenDamage | null = null;

  /** Throws `WAL_INVALID_OPTIONS` when an option is out of range. */
  constructor(options: FrameDecoderOptions = {}) {
    const max = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    const offset = options.offset ?? 0;
    if (!isMaxRecordBytes(max)) {
      throw new WalError(
        ErrorCode.INVALID_OPTIONS,
        `expected maxRecordBytes to be an integer in [${MIN_RECORD_BYTES}, ${MAX_RECORD_BYTES_LIMIT}], found ${describeValue(max)}`,
      );
    }
    if (!isIndex(offset)) {
      throw new WalError(
        ErrorCode.INVALID_OPTIONS,
        `expected offset to be a non-negative safe integer, found ${describeValue(offset)}`,
      );
    }
    this.#max = max;
    this.#base = offset;
  }

  /** File offset of the first byte not yet decoded. */
  get offset(): number {
    return this.#span ? this.#spanOffset : this.#base + this.#pos;
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
    const need = this.#damage ? -1 : this.#spanningFrameSize(chunk, rest);
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
      const r = decodeFrameAt(span, 0, span.length, this.#max);
      if (r.status === 'record') {
        this.#span = null;
        return { kind: 'record', offset: this.#spanOffset, size: r.size, record: r.record };
      }
      this.#rejoinSpan();
    }
    if (this.#damage) return this.#resync();
    if (this.#pos >= this.#end) return undefined;
    const r = decodeFrameAt(this.#buf, this.#pos, this.#end, this.#max);
    if (r.status === 'record') {
      const offset = this.#base + this.#pos;
      this.#pos += r.size;
      return { kind: 'record', offset, size: r.size, record: r.record };
    }
    if (r.status === 'incomplete') {
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

  /** Drains every result available now. */
  *[Symbol.iterator](): IterableIterator<DecodeResult> {
    for (let r = this.next(); r; r = this.next()) yield r;
  }

  #openDamage(reason: DamageReason, detail: string): void {
    this.#damage = {
      offset: this.#base + this.#pos,
      reason,
      detail,
      allZero: this.#buf[this.#pos] === 0,
    };
    this.#pos += 1;
  }

  // Looks for the next valid frame. Waits for input while a candidate could
  // still complete; reports the damaged region once its extent is known.
  #resync(): DecodeResult | undefined {
    const d = this.#damage as OpenDamage;
    const buf = this.#buf;
    const end = this.#end;
    while (this.#pos < end) {
      if (mayStartFrame(buf, this.#pos, end, this.#max)) {
        const r = decodeFrameAt(buf, this.#pos, end, this.#max);
        if (r.status === 'record') return this.#closeDamage(d, true);
        if (r.status === 'incomplete' && !this.#ended) return undefined;
      }
      if (buf[this.#pos] !== 0) d.allZero = false;
      this.#pos += 1;
    }
    return this.#ended ? this.#closeDamage(d, false) : undefined;
  }

  #closeDamage(d: OpenDamage, found: boolean): DecodeResult {
    this.#damage = null;
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
      this.#buf.set(bytes, this.#end);
      this.#end += bytes.length;
      return;
    }
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

/** Decodes a complete buffer (the bytes after a segment header, typically). */
export function decodeAll(bytes: Uint8Array, options: FrameDecoderOptions = {}): DecodeResult[] {
  const decoder = new FrameDecoder(options);
  decoder.push(bytes);
  decoder.end();
  return [...decoder];
}
