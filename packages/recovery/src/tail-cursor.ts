import {
  type DamageReason,
  type DecodedRecord,
  decodeFrameAt,
  FrameDecoder,
  SEGMENT_HEADER_SIZE,
  type SegmentHeader,
  saltSeed,
  sequencesOf,
} from '@wal/codec';
import type { WalFs } from '@wal/fs';
import { closeQuietly, io, readAt, zeroRunEnd, zerosToEnd } from '@wal/fs/internal';
import { READ_CHUNK_BYTES, type SegmentInfo } from '@wal/fs/segments';

/** An accepted frame of the segment a tail reads. */
export interface CursorFrame {
  offset: number;
  size: number;
  record: DecodedRecord;
}

/** What stopped a read: the end of what the file holds, a seal, or bytes that are not a frame (yet). */
export type ReadStop =
  | { kind: 'end' }
  | { kind: 'sealed' }
  | { kind: 'incomplete' }
  | { kind: 'damage'; offset: number; reason: DamageReason; detail: string };

/** The frames found past the cursor, without moving it. */
export interface CursorRead {
  frames: CursorFrame[];
  stop: ReadStop;
  /** True when the read went to the end of the file as it was. */
  reachedEnd: boolean;
}

/**
 * Where a tail stands in one segment: the offset and sequence after the
 * frames it has taken, and the highest `synced` watermark any frame of the
 * segment carried (what another process can know is durable). Keeps the
 * file open, so retention deleting it does not stop the reader mid-segment.
 */
export class SegmentCursor {
  readonly segment: number;
  readonly file: string;
  readonly header: SegmentHeader;
  /** File offset after the frames taken. */
  offset = SEGMENT_HEADER_SIZE;
  /** The sequence the next frame must start at. */
  nextSequence: number;
  /** Bytes of the segment some frame of it says were durable when it was written. */
  synced = SEGMENT_HEADER_SIZE;
  /** Set once the seal is taken: the next sequence it gave. */
  sealedAt: number | null = null;
  readonly #fs: WalFs;
  readonly #fd: number;
  readonly #seed: number;
  #window = READ_CHUNK_BYTES;

  private constructor(fs: WalFs, fd: number, info: SegmentInfo, header: SegmentHeader) {
    this.#fs = fs;
    this.#fd = fd;
    this.segment = info.segment;
    this.file = info.file;
    this.header = header;
    this.nextSequence = header.firstSequence;
    this.#seed = saltSeed(header.salt);
  }

  /** Opens the segment `info` describes (its header must be valid). */
  static async open(fs: WalFs, info: SegmentInfo, header: SegmentHeader): Promise<SegmentCursor> {
    const fd = await io('open segment', info.file, () => fs.open(info.file, 'r'));
    return new SegmentCursor(fs, fd, info, header);
  }

  /**
   * Decodes the frames after the cursor, as far as the file holds them now
   * (at most the read window). Frames are checked as the writer's open
   * checks them: CRC under the segment's salt, sequences continuing exactly,
   * nothing after a seal.
   */
  async read(): Promise<CursorRead> {
    const size = await io('stat segment', this.file, () => this.#fs.fsize(this.#fd));
    if (this.offset >= size) return { frames: [], stop: { kind: 'end' }, reachedEnd: true };
    const length = Math.min(this.#window, size - this.offset);
    const bytes = await readAt(this.#fs, this.#fd, this.offset, length, this.file);
    const reachedEnd = this.offset + bytes.length >= size;
    const frames: CursorFrame[] = [];
    const context = {
      maxRecordBytes: this.header.maxRecordBytes,
      seed: this.#seed,
      frameOffset: 0,
    };
    let expected = this.nextSequence;
    let stop: ReadStop = { kind: 'end' };
    for (let pos = 0; pos < bytes.length; ) {
      const offset = this.offset + pos;
      context.frameOffset = offset;
      const r = decodeFrameAt(bytes, pos, bytes.length, context);
      if (r.kind === 'incomplete') {
        stop = { kind: 'incomplete' };
        break;
      }
      if (r.kind === 'damage') {
        stop = { kind: 'damage', offset, reason: r.reason, detail: r.detail };
        break;
      }
      const { first, next } = sequencesOf(r.record);
      if (first !== expected) {
        const detail = `expected a record continuing at sequence ${expected}, found one at ${first}`;
        stop = { kind: 'damage', offset, reason: 'bad-sequence', detail };
        break;
      }
      frames.push({ offset, size: r.size, record: r.record });
      this.synced = Math.max(this.synced, r.record.synced);
      expected = next;
      pos += r.size;
      if (r.record.type === 'seal') {
        stop =
          pos < bytes.length
            ? {
                kind: 'damage',
                offset: this.offset + pos,
                reason: 'bad-seal',
                detail: `expected the segment to end at its seal, found ${bytes.length - pos} more bytes`,
              }
            : { kind: 'sealed' };
        break;
      }
    }
    return { frames, stop, reachedEnd };
  }

  /** Moves past `frame` (the last of a read's frames taken). */
  take(frame: CursorFrame): void {
    this.offset = frame.offset + frame.size;
    this.nextSequence = sequencesOf(frame.record).next;
    if (frame.record.type === 'seal') this.sealedAt = frame.record.nextSequence;
    this.#window = READ_CHUNK_BYTES;
  }

  /** Reads further next time: a frame, or the frame that confirms those read, lies past the window. */
  widen(): void {
    this.#window *= 2;
  }

  /**
   * True when the damage a read stopped at is zeros to the end of the file:
   * the end of the segment's data, as `readFrames` reads it (free space in
   * the log's last segment, a missing seal in any other).
   */
  async zerosToEnd(stop: { offset: number; reason: DamageReason }): Promise<boolean> {
    if (stop.reason !== 'zero-fill') return false;
    const size = await io('stat segment', this.file, () => this.#fs.fsize(this.#fd));
    const end = await zeroRunEnd(this.#fs, this.#fd, this.file, stop.offset, size);
    return zerosToEnd({ ...stop, bytes: end - stop.offset }, size);
  }

  /**
   * True when a frame after the damage at `offset` says it was written once
   * the damaged bytes were durable (its `synced` is past them): the damage
   * is rot in synced data, not a write still landing or a torn one.
   */
  async writtenAfter(offset: number): Promise<boolean> {
    const size = await io('stat segment', this.file, () => this.#fs.fsize(this.#fd));
    const decoder = new FrameDecoder({
      salt: this.header.salt,
      firstSequence: this.nextSequence,
      maxRecordBytes: this.header.maxRecordBytes,
      offset: offset + 1,
      afterDamage: true,
    });
    for (let p = offset + 1; p < size; ) {
      const chunk = await readAt(
        this.#fs,
        this.#fd,
        p,
        Math.min(READ_CHUNK_BYTES, size - p),
        this.file,
      );
      if (chunk.length === 0) break;
      p += chunk.length;
      decoder.push(chunk);
      for (const r of decoder) if (r.kind === 'frame' && r.record.synced > offset) return true;
    }
    decoder.end();
    for (const r of decoder) if (r.kind === 'frame' && r.record.synced > offset) return true;
    return false;
  }

  close(): Promise<void> {
    return closeQuietly(this.#fs, this.#fd);
  }
}
