import type { DecodedFrame } from '@wal/codec';
import type { WalEntry } from '@wal/recovery';
import { type Context, Exit } from '../command.js';
import { damageText } from '../damage-text.js';
import { damageJson, frameJson, frameText } from '../frame-format.js';
import { walkFrames } from '../frame-walk.js';
import { Progress } from '../progress.js';
import type { Target } from '../target.js';
import type { DumpOptions } from './dump.js';
import { FLUSH_AT } from './dump-entries.js';

/**
 * `wal dump --frames`: every record as stored, with the entries the options
 * select beneath each batch, and every damaged region in place. Exits 1 when
 * it shows damage other than a torn tail.
 */
export async function dumpFrames(
  { out, fs }: Context,
  target: Target,
  options: DumpOptions,
): Promise<number> {
  const progress = await Progress.start(fs, out, 'dump', target);
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  let printed = 0;
  let damaged = false;
  let chunk = '';
  try {
    for await (const event of walkFrames(progress.fs, target, options.from)) {
      if (event.kind === 'damage') {
        damaged ||= !event.torn;
        chunk += options.json
          ? damageJson(event.damage, event.torn)
          : `${damageText(out, event.damage, event.torn)}\n`;
        continue;
      }
      const { frame, info } = event;
      if (pastRange(frame, options) || printed >= limit) break;
      const entries = selected(frame, options, limit - printed);
      if (entries === null) continue;
      printed += entries.length;
      const shown = { info, offset: frame.offset, size: frame.size, record: frame.record, entries };
      chunk += options.json
        ? frameJson(shown, options.encoding)
        : frameText(shown, options.encoding);
      if (chunk.length >= FLUSH_AT) {
        await out.write(chunk);
        chunk = '';
        progress.entries(printed);
        // The reader went away (or the disk is full): exit with the damage shown so far.
        if (out.stopped) break;
      }
    }
  } finally {
    progress.done();
    await out.write(chunk);
  }
  return damaged ? Exit.DAMAGED : Exit.OK;
}

// A batch or hole starting after --to: nothing later is in range either.
function pastRange({ record }: DecodedFrame, { to }: DumpOptions): boolean {
  if (to === undefined) return false;
  return (record.type === 'batch' || record.type === 'hole') && record.firstSequence > to;
}

/**
 * The entries of a frame to show beneath it (empty for a record without
 * entries), or null when the frame is not shown: a batch with no entry
 * selected, or, under a key filter, any other record.
 */
function selected(frame: DecodedFrame, options: DumpOptions, room: number): WalEntry[] | null {
  const { from, keys } = options;
  const to = options.to ?? Number.POSITIVE_INFINITY;
  const { record } = frame;
  if (record.type === 'batch') {
    const entries = record.entries
      .filter((e) => e.sequence >= from && e.sequence <= to && (!keys || keys(e)))
      .slice(0, room);
    return entries.length > 0 ? entries : null;
  }
  if (keys) return null;
  if (record.type === 'hole') {
    return record.firstSequence <= to && record.nextSequence > from ? [] : null;
  }
  // A seal or a mark stands at its next sequence: shown beside the range's last entry.
  return record.nextSequence >= from && record.nextSequence <= to + 1 ? [] : null;
}
