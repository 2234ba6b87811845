import { type DamageReason, FrameDecoder, SEGMENT_HEADER_SIZE, type WalRecord } from '@wal/codec';
import { isTornTail, refuseOversizedRecord, type WalFs } from '@wal/fs';
import { closeQuietly, io, readAt } from './io.js';
import type { SegmentInfo } from './segments.js';

/** Bytes per read. Each read gets a new buffer, which the entries decoded from it pin. */
export const READ_CHUNK_BYTES = 1024 * 1024;

/** What reading one segment's frames produces, in file order. */
export type FrameEvent =
  | { kind: 'read' }
  | { kind: 'record'; offset: number; size: number; record: WalRecord }
  | {
      kind: 'damage';
      offset: number;
      bytes: number;
      reason: DamageReason;
      detail: string;
      /** A torn tail: the segment's frames end here, whatever follows. */
      torn: boolean;
    };

/**
 * Streams the frames of one segment, from after its header to the size the
 * file had when opened (a writer may be appending: what it adds later is not
 * read, and a frame it is halfway through comes out as a torn tail).
 *
 * Tail policy, the same as the writer's open (@wal/fs `openLog`): in the
 * tail segment, damage is a torn tail when no valid frame follows it (a write
 * cut short by a crash), or when the damaged frame looks torn (a zeroed
 * header or a sector-aligned zero run: a power loss persisted later pages
 * before it, and frames after a torn write were never synced, so never
 * acknowledged). A torn tail runs from the damage to the end of the file.
 * Everywhere else, and for any other damage, the damage is corruption; the
 * decoder resyncs to the next valid frame and reading goes on.
 */
export function* readFrames(
  fs: WalFs,
  segment: SegmentInfo,
  tail: boolean,
  maxRecordBytes: number,
): Generator<FrameEvent> {
  const { file } = segment;
  const fd = io('open', file, () => fs.open(file, 'r'));
  try {
    let size = io('stat', file, () => fs.fsize(fd));
    segment.size = size;
    const decoder = new FrameDecoder({ maxRecordBytes, offset: SEGMENT_HEADER_SIZE });
    // Returns true once a torn tail ends the segment.
    const drain = function* (): Generator<FrameEvent, boolean> {
      for (const result of decoder) {
        if (result.kind === 'record') {
          yield result;
          continue;
        }
        if (result.reason === 'bad-length') {
          refuseOversizedRecord(fs, fd, file, result.offset, size, maxRecordBytes);
        }
        const torn = tail && isTornTail(fs, fd, file, result, size, maxRecordBytes);
        if (!torn) {
          yield { ...result, torn };
          continue;
        }
        const bytes = size - result.offset;
        const detail =
          bytes === result.bytes
            ? result.detail
            : `${result.detail}; it looks torn (zeroed sectors), so the tail runs to the end of the file`;
        yield { ...result, bytes, detail, torn };
        return true;
      }
      return false;
    };
    for (let position = SEGMENT_HEADER_SIZE; position < size; ) {
      const chunk = readAt(fs, fd, position, Math.min(READ_CHUNK_BYTES, size - position), file);
      if (chunk.length === 0) {
        size = position; // Cut by someone else since we opened it: it ends here.
        segment.size = size;
        break;
      }
      position += chunk.length;
      decoder.push(chunk);
      yield { kind: 'read' };
      if (yield* drain()) return;
    }
    decoder.end();
    yield* drain();
  } finally {
    closeQuietly(fs, fd);
  }
}
