import type { Damage, DecodedFrame } from '@wal/codec';
import type { WalFs } from '@wal/fs';
import {
  checkChain,
  readFrames,
  readListedInfos,
  readSegmentInfo,
  type SegmentInfo,
} from '@wal/fs/segments';
import { segmentOfTarget, type Target } from './target.js';

/** One record as stored, or one damaged region, in file order. */
export type FrameWalkEvent =
  | { kind: 'frame'; info: SegmentInfo; frame: DecodedFrame }
  | { kind: 'damage'; damage: Damage; torn: boolean };

/**
 * Every record of a log (or of one segment file) as stored, and every
 * damaged region between them: the frame-level view behind
 * `wal dump --frames`. It reads past damage (the segment layer resyncs),
 * applies the tail rule to the last segment (sealed or not, as the writer
 * and recovery do; a file read alone is the last), and reports
 * what ties segments together (a missing number, a bad header, another
 * log's segment) where it breaks, as recovery's walker does. Sealed segments
 * wholly below `fromSequence` are not read.
 */
export async function* walkFrames(
  fs: WalFs,
  target: Target,
  fromSequence: number,
): AsyncGenerator<FrameWalkEvent> {
  const infos = await segmentInfos(fs, target);
  const chain = checkChain(infos);
  for (const [i, info] of infos.entries()) {
    let readable = info.header !== null;
    for (const { damage } of chain.filter((c) => c.index === i)) {
      // readFrames finds a missing or wrong seal itself, at its offset.
      if (damage.reason === 'bad-seal') continue;
      yield { kind: 'damage', damage, torn: false };
      if (damage.reason === 'bad-header') readable = false;
    }
    if (!readable || (info.seal !== null && info.seal.nextSequence <= fromSequence)) continue;
    // Sealed too: a rotation may have crashed after its seal, before the next segment.
    const last = i === infos.length - 1;
    const ceiling = info.seal?.nextSequence ?? nextFirst(info, infos[i + 1]);
    const options = ceiling === undefined ? { last } : { last, ceiling };
    for await (const event of readFrames(fs, info, options)) {
      if (event.kind === 'frames') {
        for (const frame of event.frames) yield { kind: 'frame', info, frame };
      } else if (event.kind === 'damage') {
        yield { kind: 'damage', damage: event.damage, torn: event.torn };
      }
    }
  }
}

async function segmentInfos(fs: WalFs, target: Target): Promise<SegmentInfo[]> {
  if (target.kind === 'file')
    return [await readSegmentInfo(fs, target.path, segmentOfTarget(target))];
  // As the scan does: a segment retention deleted since the listing is left out.
  return readListedInfos(fs, target.path);
}

// The next segment's first sequence bounds this one's, when it directly follows.
function nextFirst(info: SegmentInfo, next: SegmentInfo | undefined): number | undefined {
  if (next?.segment !== info.segment + 1 || next.header?.segment !== next.segment) return undefined;
  return next.header.firstSequence;
}
