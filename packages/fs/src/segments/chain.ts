import { type Damage, SEGMENT_HEADER_SIZE } from '@wal/codec';
import type { SegmentInfo } from './info.js';
import { segmentFileName } from './names.js';

/** A break in the chain of segments, found from headers and seals alone. */
export interface ChainDamage {
  /** Index in the list given to {@link checkChain} of the segment it is found at. */
  index: number;
  damage: Damage;
}

/**
 * Checks what ties a log's segments together, from their headers and seals
 * (see {@link SegmentInfo}), without reading a frame:
 * - every file has a valid header whose segment number is its name's;
 * - every header carries the log's id (the one most headers carry);
 * - segment numbers are contiguous (`missing-segment`);
 * - every segment but the last ends with a seal (`bad-seal`: truncated, extended or never sealed);
 * - each segment starts at the sequence the previous one's seal ends at (`bad-sequence`).
 *
 * Returns every break found, in log order. `Wal.open` refuses a log with
 * any; recovery reports them where they are.
 */
export function checkChain(infos: readonly SegmentInfo[]): ChainDamage[] {
  const found: ChainDamage[] = [];
  const logId = commonLogId(infos);
  const add = (index: number, reason: Damage['reason'], detail: string, offset = 0, bytes = 0) => {
    const info = infos[index] as SegmentInfo;
    found.push({
      index,
      damage: { file: info.file, segment: info.segment, offset, bytes, reason, detail },
    });
  };
  infos.forEach((info, i) => {
    const previous = infos[i - 1];
    if (previous && info.segment !== previous.segment + 1) {
      const from = previous.segment + 1;
      add(
        i,
        'missing-segment',
        `expected ${segmentFileName(from)} after ${segmentFileName(previous.segment)}, found ${segmentFileName(info.segment)} (segments ${from} to ${info.segment - 1} are missing)`,
      );
    }
    const { header } = info;
    if (!header) {
      const detail =
        info.size < SEGMENT_HEADER_SIZE
          ? `expected a ${SEGMENT_HEADER_SIZE}-byte segment header, found a ${info.size}-byte file (the writer never leaves one: a segment is renamed into place only once its header is durable)`
          : info.headerDetail;
      add(i, 'bad-header', detail, 0, info.size);
      return;
    }
    if (header.segment !== info.segment) {
      const detail = `expected segment number ${info.segment} (from the file name) in the header, found ${header.segment}`;
      add(i, 'bad-header', detail, 0, info.size);
      return;
    }
    if (header.logId !== logId) {
      const detail = `expected the log id ${logId} that most segments (or the oldest) carry, found ${header.logId} (a segment of another log)`;
      add(i, 'bad-header', detail, 0, info.size);
      return;
    }
    if (info.seal && info.seal.nextSequence < header.firstSequence) {
      const detail = `expected a seal at or after the first sequence ${header.firstSequence}, found one ending at ${info.seal.nextSequence}`;
      add(i, 'bad-seal', detail, info.size, 0);
    } else if (!info.seal && i < infos.length - 1) {
      const detail = `expected ${segmentFileName(info.segment)} to end with a seal (a later segment exists), found none: it was cut short or extended`;
      add(i, 'bad-seal', detail, info.size, 0);
    }
    const before = previous?.header && previous.seal ? previous.seal.nextSequence : null;
    if (
      before !== null &&
      previous?.segment === info.segment - 1 &&
      header.firstSequence !== before
    ) {
      const detail = `expected the segment to start at sequence ${before} (where ${segmentFileName(previous.segment)} ends), found ${header.firstSequence}`;
      add(i, 'bad-sequence', detail, 0, 0);
    }
  });
  return found;
}

// The log id most headers carry; on a tie, the oldest segment's (a
// segment of another log is more likely copied in later than first).
function commonLogId(infos: readonly SegmentInfo[]): string | undefined {
  const counts = new Map<string, number>();
  let best: string | undefined;
  for (const info of infos) {
    if (!info.header) continue;
    const n = (counts.get(info.header.logId) ?? 0) + 1;
    counts.set(info.header.logId, n);
    if (best === undefined || n > (counts.get(best) ?? 0)) best = info.header.logId;
  }
  return best;
}
