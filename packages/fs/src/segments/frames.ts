import {
  type Damage,
  type DecodedDamage,
  type DecodedFrame,
  FrameDecoder,
  SEGMENT_HEADER_SIZE,
  type SegmentHeader,
} from '@wal/codec';
import type { WalFs } from '../wal-fs.js';
import { isFreeSpace, zerosToEnd } from './free-space.js';
import type { SegmentInfo } from './info.js';
import { closeQuietly, io, readAt } from './io.js';

/**
 * Bytes per read. Each read gets a new buffer, which the entries decoded from
 * it pin. 256 KiB, not more: a buffer the garbage collector happens to move
 * to its old generation stays until a full collection, and on a long scan
 * those add up (1 MiB reads peaked at +80 MiB on a 1 GiB log, 256 KiB at +43).
 */
export const READ_CHUNK_BYTES = 256 * 1024;

/** Reads in flight ahead of the decoder: enough to keep it fed when the thread pool is slow. */
const READ_AHEAD = 2;

/**
 * The frames of one `frames` event: at least one, and entries (a frame
 * without any counts one) up to about this many. What an event makes is then
 * small enough to die before the garbage collector's next young-generation
 * pass, which is cheap.
 */
export const FRAMES_ENTRIES = 1024;

/** What reading one segment produces, in file order. */
export type FrameEvent =
  /** Accepted frames, in order, of one read, up to about FRAMES_ENTRIES entries: their sequences continue the segment. */
  | { kind: 'frames'; frames: DecodedFrame[] }
  /**
   * A damaged region. `torn`: a torn write at the end of the last segment
   * (see the tail rule below); the segment's frames end at it, and nothing
   * after it is read.
   */
  | { kind: 'damage'; damage: Damage; nextSequence: number; torn: boolean }
  /**
   * The segment is read. `dataEnd`: the end of its last accepted frame.
   * `free`: bytes of zeros from there to `size` read as free space (the
   * last segment only), else 0.
   */
  | {
      kind: 'end';
      size: number;
      dataEnd: number;
      free: number;
      nextSequence: number;
      sealed: boolean;
    };

/** Options of {@link readFrames}. */
export interface ReadFramesOptions {
  /** True for the log's last segment: the only one the tail rule may cut. */
  last: boolean;
  /** Sequences the segment cannot reach: a frame found after damage must end below it. */
  ceiling?: number;
  /** Read no further than this many bytes of the file (default: its size when opened). */
  size?: number;
  /**
   * Take the header's first sequence as a floor only: the first frame may
   * start at or above it (salvaging a segment whose header is damaged).
   */
  loose?: boolean;
  /**
   * Read on past a torn write (salvage): the damage is still reported as
   * torn, covering only its own bytes, and the frames after it follow.
   * Default false: a torn write ends the segment.
   */
  pastTorn?: boolean;
}

/**
 * Streams the frames of one segment (its header must be valid), from after
 * the header to the size the file had when opened: a writer may be
 * appending, and a frame it is halfway through comes out as a torn tail.
 *
 * The tail rule, decided by write order and never by byte content:
 * - damage in a segment that is not the last is corruption: it was synced
 *   before the next segment was created;
 * - damage at offset D in the last segment is a torn write when no frame
 *   after it says it was written after D was durable (its `synced` > D).
 *   Such frames were written in the same unsynced window as the damage, so a
 *   power loss may have kept them and lost it: they were never acknowledged
 *   as durable, and the tail from D to the end is cut.
 * - otherwise it is bit rot in synced data: corruption, never cut;
 * - zeros from the end of the last frame to the end of the last segment
 *   are free space (the writer preallocates), not damage: {@link isFreeSpace}.
 * A segment that is not the last must end with its seal (`bad-seal`).
 */
export async function* readFrames(
  fs: WalFs,
  info: SegmentInfo,
  options: ReadFramesOptions,
): AsyncGenerator<FrameEvent> {
  const header = info.header as SegmentHeader;
  const { file, segment } = info;
  const fd = await io('open segment', file, () => fs.open(file, 'r'));
  // The next chunks are read (on the thread pool) while this one is decoded.
  const ahead: Promise<Uint8Array>[] = [];
  try {
    const size = options.size ?? (await io('stat segment', file, () => fs.fsize(fd)));
    let requested = SEGMENT_HEADER_SIZE;
    const readAhead = () => {
      while (ahead.length < READ_AHEAD && requested < size) {
        const length = Math.min(READ_CHUNK_BYTES, size - requested);
        const read = readAt(fs, fd, requested, length, file);
        // Its error surfaces where it is awaited; unawaited, the scan ended before it.
        read.catch(() => {});
        ahead.push(read);
        requested += length;
      }
    };
    const decoder = newDecoder(header, SEGMENT_HEADER_SIZE, options.ceiling, options.loose);
    // What the last look past damage found: the first later frame written
    // once that damage was durable, or null for none (undefined: not looked).
    // It answers for later damage too, so heavy damage costs one read of the
    // rest of the segment, not one per damaged region (see laterWitness).
    let witness: Witness | null | undefined;
    let dataEnd = SEGMENT_HEADER_SIZE;
    let damagedToEnd = false;
    let position = SEGMENT_HEADER_SIZE;
    for (let ended = false; !ended; ) {
      if (position < size) {
        readAhead();
        const wanted = Math.min(READ_CHUNK_BYTES, size - position);
        const chunk = await (ahead.shift() as Promise<Uint8Array>);
        position += chunk.length;
        decoder.push(chunk);
        if (chunk.length < wanted)
          position = size; // cut by someone else since: it ends here
        else readAhead();
      }
      if (position >= size) {
        decoder.end();
        ended = true;
      }
      for (;;) {
        // A read's frames go up in slices of FRAMES_ENTRIES entries.
        const frames: DecodedFrame[] = [];
        const result = decoder.drain(frames, FRAMES_ENTRIES);
        const last = frames.at(-1);
        if (last) {
          dataEnd = last.offset + last.size;
          yield { kind: 'frames', frames };
        }
        if (result === undefined) {
          if (last) continue;
          break;
        }
        if (isFreeSpace(result, size, options.last)) {
          yield {
            kind: 'end',
            size,
            dataEnd: result.offset,
            free: size - result.offset,
            nextSequence: result.nextSequence,
            sealed: false,
          };
          return;
        }
        let torn = false;
        if (options.last) {
          if (witness === undefined || (witness !== null && !vouches(witness, result))) {
            witness = await laterWitness(fs, fd, info, result, size, options.ceiling);
          }
          torn = witness === null || !vouches(witness, result);
        }
        const toEnd = torn && !options.pastTorn;
        const damage = toDamage(info, result, toEnd ? size - result.offset : result.bytes);
        if (toEnd && damage.bytes !== result.bytes) {
          damage.detail = `${result.detail}; no later frame was written after it was durable, so it is a torn write and the tail runs to the end of the file`;
        }
        if (!options.last && zerosToEnd(result, size)) {
          // What would be free space in the last segment: here, a missing seal.
          damage.reason = 'bad-seal';
          damage.detail = `expected the segment to end with a seal (a later segment exists), found zeros from ${result.offset} to its end`;
        }
        yield { kind: 'damage', damage, nextSequence: result.nextSequence, torn };
        damagedToEnd = result.offset + result.bytes >= size;
        if (toEnd) {
          yield {
            kind: 'end',
            size,
            dataEnd: result.offset,
            free: 0,
            nextSequence: result.nextSequence,
            sealed: decoder.sealed,
          };
          return;
        }
      }
    }
    if (!options.last && !decoder.sealed && !damagedToEnd) {
      const damage: Damage = {
        file,
        segment,
        offset: dataEnd,
        bytes: size - dataEnd,
        reason: 'bad-seal',
        detail: `expected the segment to end with a seal (a later segment exists), found none after its last frame at ${dataEnd}: it was cut short`,
      };
      yield { kind: 'damage', damage, nextSequence: decoder.nextSequence, torn: false };
    }
    yield {
      kind: 'end',
      size,
      dataEnd,
      free: 0,
      nextSequence: decoder.nextSequence,
      sealed: decoder.sealed,
    };
  } finally {
    // Never close the handle under a read in flight.
    for (const read of ahead) await read.catch(() => {});
    await closeQuietly(fs, fd);
  }
}

/** A frame after damage that was written once the damage was durable. */
interface Witness {
  offset: number;
  synced: number;
}

/** True when `witness` lies after `damage` and was written once it was durable. */
function vouches(witness: Witness, damage: DecodedDamage): boolean {
  return witness.offset > damage.offset && witness.synced > damage.offset;
}

/**
 * The first frame after the damage written once the damaged bytes were
 * durable (its `synced` watermark past the damage's offset), or null when
 * none is. Reads the rest of the segment once, keeping nothing it decodes.
 *
 * Its answer holds for later damage in the segment: this look-ahead meets
 * that damage in the state a look-ahead from it would start in (the same
 * frames accepted, the same interrupted sequence), so both accept the same
 * frames after it. Null therefore stays null, and a witness past later
 * damage whose `synced` is past it too still vouches for it.
 */
async function laterWitness(
  fs: WalFs,
  fd: number,
  info: SegmentInfo,
  damage: DecodedDamage,
  size: number,
  ceiling: number | undefined,
): Promise<Witness | null> {
  const header = info.header as SegmentHeader;
  const start = damage.offset + 1;
  const decoder = newDecoder(
    { ...header, firstSequence: damage.nextSequence },
    start,
    ceiling,
    true,
  );
  for (let position = start; ; ) {
    const done = position >= size;
    if (done) decoder.end();
    else {
      const chunk = await readAt(
        fs,
        fd,
        position,
        Math.min(READ_CHUNK_BYTES, size - position),
        info.file,
      );
      position = chunk.length === 0 ? size : position + chunk.length;
      decoder.push(chunk);
    }
    for (const result of decoder) {
      if (result.kind === 'frame' && result.record.synced > damage.offset) {
        return { offset: result.offset, synced: result.record.synced };
      }
    }
    if (done) return null;
  }
}

function newDecoder(
  header: SegmentHeader,
  offset: number,
  ceiling: number | undefined,
  afterDamage = false,
) {
  return new FrameDecoder({
    salt: header.salt,
    firstSequence: header.firstSequence,
    maxRecordBytes: header.maxRecordBytes,
    offset,
    afterDamage,
    ...(ceiling === undefined ? {} : { ceiling }),
  });
}

function toDamage(info: SegmentInfo, d: DecodedDamage, bytes: number): Damage {
  return {
    file: info.file,
    segment: info.segment,
    offset: d.offset,
    bytes,
    reason: d.reason,
    detail: d.detail,
  };
}
